import Foundation

/// Maps a stream of work items over worker threads and hands the results back in input order.
///
/// Each worker makes its own state once (for text, a ``TextProcessor`` with its ICU objects:
/// costly to open and not thread-safe, so one per thread and reused). The calling thread produces
/// items and consumes results; at most `2 × threads` items are in flight, so memory stays bounded
/// however long the stream. With one thread everything runs inline on the caller.
///
/// Output order equals input order whatever the thread count, so anything numbered downstream
/// (example ids) is deterministic.
public enum OrderedParallelMap {
    ///
    /// `cost` (with `maxCost`) bounds what is in flight by size as well: no item is submitted
    /// while the items submitted and not yet consumed cost `maxCost` or more (one item always
    /// may be). Without it, items as big as the whole input could be in flight at once.
    public static func run<Worker, Input: Sendable, Output: Sendable>(
        threads: Int,
        makeWorker: @escaping @Sendable () throws -> Worker,
        next: () throws -> Input?,
        transform: @escaping @Sendable (Worker, Input) throws -> Output,
        consume: (Output) throws -> Void,
        cost: ((Input) -> Int)? = nil,
        maxCost: Int = .max
    ) throws {
        if threads <= 1 {
            let worker = try makeWorker()
            while let item = try next() { try consume(try transform(worker, item)) }
            return
        }
        let shared = SharedQueue<Input, Output>()
        let group = DispatchGroup()
        for _ in 0..<threads {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                shared.work(makeWorker: makeWorker, transform: transform)
            }
            thread.stackSize = 4 << 20
            thread.start()
        }
        defer {
            shared.close()
            group.wait()
        }
        let limit = threads * 2
        var submitted = 0, delivered = 0
        var exhausted = false
        var costs: [Int] = [], inFlightCost = 0   // per item not yet consumed, oldest first
        while true {
            while !exhausted && submitted - delivered < limit && (inFlightCost < maxCost || submitted == delivered) {
                if let item = try next() {
                    if let cost {
                        let c = cost(item)
                        costs.append(c); inFlightCost += c
                    }
                    shared.submit(item, sequence: submitted)
                    submitted += 1
                } else {
                    exhausted = true
                }
            }
            if delivered == submitted { break }
            let result = shared.take(sequence: delivered)
            delivered += 1
            try consume(try result.get())
            if cost != nil { inFlightCost -= costs.removeFirst() }
        }
    }
}

/// The queue between the producing thread and the workers, and the results coming back.
private final class SharedQueue<Input: Sendable, Output: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    /// Taken slots are set to nil at once, so a consumed item is never kept alive by the queue.
    private var pending: [(Int, Input)?] = []
    private var pendingHead = 0
    private var results: [Int: Result<Output, any Error>] = [:]
    private var closed = false

    func submit(_ item: Input, sequence: Int) {
        condition.lock()
        pending.append((sequence, item))
        condition.broadcast()
        condition.unlock()
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    func take(sequence: Int) -> Result<Output, any Error> {
        condition.lock()
        defer { condition.unlock() }
        while results[sequence] == nil { condition.wait() }
        return results.removeValue(forKey: sequence)!
    }

    func work<Worker>(makeWorker: () throws -> Worker, transform: (Worker, Input) throws -> Output) {
        let worker: Result<Worker, any Error> = Result { try makeWorker() }
        while let (sequence, item) = nextItem() {
            let result = worker.flatMap { w in Result { try transform(w, item) } }
            condition.lock()
            results[sequence] = result
            condition.broadcast()
            condition.unlock()
        }
    }

    private func nextItem() -> (Int, Input)? {
        condition.lock()
        defer { condition.unlock() }
        while pendingHead == pending.count && !closed { condition.wait() }
        if pendingHead == pending.count { return nil }
        let item = pending[pendingHead]!
        pending[pendingHead] = nil
        pendingHead += 1
        if pendingHead >= 64 && pendingHead * 2 >= pending.count {
            pending.removeFirst(pendingHead)
            pendingHead = 0
        }
        return item
    }
}
