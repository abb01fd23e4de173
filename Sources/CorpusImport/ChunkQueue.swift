import Foundation

/// A numbered block of records (or reader errors, under `--on-error skip`) handed from the
/// reader thread to the workers.
struct RecordChunk: Sendable {
    enum Item: Sendable {
        case record(RawRecord)
        /// A record the reader could not read but could step over (ragged row, bad UTF-8).
        case unreadable(ImportError)
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
    private var failure: ImportError?
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

    /// Producer: no more chunks (with the error that stopped the reader, if any).
    func finish(_ error: ImportError?) {
        condition.lock(); defer { condition.unlock() }
        finished = true
        failure = error
        condition.broadcast()
    }

    /// Consumer: the next chunk, nil at the end; rethrows the reader's error at the end.
    func pop() throws(ImportError) -> RecordChunk? {
        condition.lock(); defer { condition.unlock() }
        while items.isEmpty && !finished { condition.wait() }
        if !items.isEmpty {
            let chunk = items.removeFirst()
            condition.broadcast()
            return chunk
        }
        if let failure { throw failure }
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
