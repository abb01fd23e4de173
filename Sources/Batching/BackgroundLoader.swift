import Foundation

/// Runs a `Loader` on its own thread, keeping up to `capacity` batches ready, so the consumer
/// (the training step) does not wait for the store.
///
/// ```swift
/// let bg = BackgroundLoader(loader, capacity: 8)
/// let batch = try bg.next()
/// let saved = bg.state          // the position after the last batch `next()` returned
/// ```
///
/// Batches come in exactly the order the loader alone would give them. The loader must not be
/// used directly while the background loader runs; `stop()` (or deinit) ends the thread.
public final class BackgroundLoader: @unchecked Sendable {
    private let pipeline: BatchPipeline

    public init(_ loader: Loader, capacity: Int = 8) {
        let pipeline = BatchPipeline(loader, capacity: capacity)
        self.pipeline = pipeline
        // The thread holds the pipeline, not this object, so dropping the last reference to
        // the background loader ends the thread.
        let thread = Thread { pipeline.produce() }
        thread.name = "mtl.batching"
        thread.start()
    }

    /// The next batch (waits while none is ready); rethrows the loader's error.
    public func next() throws -> Batch { try pipeline.next() }

    /// The loader's position after the last batch `next()` returned (batches prepared but not
    /// yet taken are not counted: restoring this state produces them again).
    public var state: LoaderState { pipeline.state }

    /// Ends the background thread and waits for it (the batch being prepared is finished first).
    public func stop() { pipeline.stop() }

    deinit { pipeline.requestStop() }
}

final class BatchPipeline: @unchecked Sendable {
    private let loader: Loader
    private let capacity: Int
    private let condition = NSCondition()
    private var queue: [(Batch, LoaderState)] = []
    private var head = 0
    private var failure: Error?
    private var stopped = false
    private var finished = false
    private var lastState: LoaderState
    // Wake-ups only when the other side sleeps; the producer, once the queue is full, sleeps
    // until it is half empty (one wake-up per capacity/2 batches, not one per batch).
    private var producerWaiting = false
    private var consumerWaiting = false

    init(_ loader: Loader, capacity: Int) {
        self.loader = loader
        self.capacity = Swift.max(1, capacity)
        lastState = loader.state
    }

    func produce() {
        while true {
            condition.lock()
            if queue.count - head >= capacity {
                while queue.count - head > capacity / 2 && !stopped { producerWaiting = true; condition.wait() }
                producerWaiting = false
            }
            if stopped { finished = true; condition.broadcast(); condition.unlock(); return }
            condition.unlock()
            let item: (Batch, LoaderState)
            do {
                let b = try loader.next()
                item = (b, loader.state)
            } catch {
                condition.lock()
                failure = error
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            condition.lock()
            if head > 64 && head * 2 > queue.count { queue.removeFirst(head); head = 0 }
            queue.append(item)
            if consumerWaiting { condition.broadcast() }
            condition.unlock()
        }
    }

    func next() throws -> Batch {
        condition.lock()
        defer { condition.unlock() }
        while queue.count == head && failure == nil && !finished { consumerWaiting = true; condition.wait() }
        consumerWaiting = false
        if queue.count > head {
            let (b, s) = queue[head]
            head += 1
            lastState = s
            if producerWaiting && queue.count - head <= capacity / 2 { condition.broadcast() }
            return b
        }
        if let failure { throw failure }
        throw BatchingError(.state, "the background loader was stopped")
    }

    var state: LoaderState {
        condition.lock()
        defer { condition.unlock() }
        return lastState
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    /// Asks the thread to end without waiting for it.
    func requestStop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }
}
