import Foundation

/// A numbered block of records (or reader errors, under `--on-error skip`) handed from the
/// reader thread to the workers.
struct RecordChunk: Sendable {
    enum Item: Sendable {
        case record(RawRecord)
        /// A record the reader could not read. `fatal`: the reader stopped there (it cannot
        /// step over it: unterminated quote, XML not well-formed); otherwise (ragged row, bad
        /// UTF-8) it went on, and `--on-error skip` makes it a reject. Errors travel in the
        /// chunks, so they are met in input order, after every record before them.
        case unreadable(ImportError, fatal: Bool)
    }
    var items: [Item] = []
    /// The reader's `bytesRead` after this chunk (for progress).
    var bytesRead: Int64 = 0
}

/// A bounded blocking FIFO between exactly one producer and one consumer thread. The producer
/// blocks while it is full (memory stays bounded by `capacity` chunks); `close()` from the
/// consumer makes the producer's next `push` return false, so it stops early.
final class ChunkQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [RecordChunk] = []
    private var finished = false
    private var closed = false
    private let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Producer: adds a chunk; false when the consumer has gone.
    func push(_ chunk: RecordChunk) -> Bool {
        condition.lock(); defer { condition.unlock() }
        while items.count >= capacity && !closed { condition.wait() }
        if closed { return false }
        items.append(chunk)
        condition.broadcast()
        return true
    }

    /// Producer: no more chunks.
    func finish() {
        condition.lock(); defer { condition.unlock() }
        finished = true
        condition.broadcast()
    }

    /// Consumer: the next chunk, nil at the end.
    func pop() -> RecordChunk? {
        condition.lock(); defer { condition.unlock() }
        while items.isEmpty && !finished { condition.wait() }
        if !items.isEmpty {
            let chunk = items.removeFirst()
            condition.broadcast()
            return chunk
        }
        return nil
    }

    /// Consumer: stop the producer.
    func close() {
        condition.lock(); defer { condition.unlock() }
        closed = true
        items.removeAll()
        condition.broadcast()
    }
}

/// Hands a reader (a non-Sendable class owning file handles) to the reader thread.
final class ReaderBox: @unchecked Sendable {
    let reader: any RecordReader
    init(_ reader: any RecordReader) { self.reader = reader }
}
