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
    /// The UTF-8 bytes of the records' field values: what bounds the chunk, the queue and
    /// the work in flight (a chunk of 1,024 records of 10 MB each was 10 GB).
    var bytes = 0

    /// The bytes a record's values hold (the strings' UTF-8, without overhead).
    static func size(of record: RawRecord) -> Int {
        var n = record.locator.file.utf8.count
        for f in record.fields {
            switch f {
            case .missing: break
            case .string(let s): n += s.utf8.count
            case .list(let l): for s in l { n += s.utf8.count + 16 }
            }
        }
        if case .success(let s)? = record.sentence { n += s.text.utf8.count + 16 * s.words.count }
        return n
    }
}

/// A bounded blocking FIFO between exactly one producer and one consumer thread. The producer
/// blocks while it is full: `capacity` chunks, or `byteCapacity` bytes (`RecordChunk.bytes`) of
/// them, whichever comes first; one chunk is always let in, however big. `close()` from the
/// consumer makes the producer's next `push` return false, so it stops early.
final class ChunkQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [RecordChunk] = []
    private var queuedBytes = 0
    private var finished = false
    private var closed = false
    private let capacity: Int
    private let byteCapacity: Int

    init(capacity: Int, byteCapacity: Int = .max) { self.capacity = max(1, capacity); self.byteCapacity = byteCapacity }

    /// Producer: adds a chunk; false when the consumer has gone.
    func push(_ chunk: RecordChunk) -> Bool {
        condition.lock(); defer { condition.unlock() }
        while !items.isEmpty && (items.count >= capacity || queuedBytes >= byteCapacity) && !closed { condition.wait() }
        if closed { return false }
        items.append(chunk)
        queuedBytes += chunk.bytes
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
            queuedBytes -= chunk.bytes
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
        queuedBytes = 0
        condition.broadcast()
    }
}

/// Hands a reader (a non-Sendable class owning file handles) to the reader thread.
final class ReaderBox: @unchecked Sendable {
    let reader: any RecordReader
    init(_ reader: any RecordReader) { self.reader = reader }
}
