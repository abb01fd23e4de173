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
    private let loader: Loader
    private let capacity: Int
    private let condition = NSCondition()
    private var queue: [(Batch, LoaderState)] = []
    private var head = 0
    private var failure: Error?
    private var stopped = false
    private var finished = false
    private var lastState: LoaderState

    public init(_ loader: Loader, capacity: Int = 8) {
        self.loader = loader
        self.capacity = Swift.max(1, capacity)
        lastState = loader.state
        let thread = Thread { [self] in produce() }
        thread.name = "mtl.batching"
        thread.start()
    }

    private func produce() {
        while true {
            condition.lock()
            while queue.count - head >= capacity && !stopped { condition.wait() }
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
            condition.broadcast()
            condition.unlock()
        }
    }

    /// The next batch (waits while none is ready); rethrows the loader's error.
    public func next() throws -> Batch {
        condition.lock()
        defer { condition.unlock() }
        while queue.count == head && failure == nil && !finished { condition.wait() }
        if queue.count > head {
            let (b, s) = queue[head]
            head += 1
            lastState = s
            condition.broadcast()
            return b
        }
        if let failure { throw failure }
        throw BatchingError(.state, "the background loader was stopped")
    }

    /// The loader's position after the last batch `next()` returned (batches prepared but not
    /// yet taken are not counted: restoring this state produces them again).
    public var state: LoaderState {
        condition.lock()
        defer { condition.unlock() }
        return lastState
    }

    /// Ends the background thread (waits for it).
    public func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    deinit {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }
}
