#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One persistent helper thread: `run` executes `body(1)` on it and `body(0)` on the caller, then waits.
/// Cheaper than spawning per call, and free of Dispatch so NN depends only on the C library.
enum Pair {
    final class State: @unchecked Sendable {
        var mutex = pthread_mutex_t()
        var cond = pthread_cond_t()
        var job: (@Sendable (Int) -> Void)?
        var generation = 0
        var done = 0
        var thread: pthread_t?
        /// The thread inside `run` (holding `lock`), for `isInside`.
        var owner: pthread_t?
        init() {
            pthread_mutex_init(&mutex, nil)
            pthread_cond_init(&cond, nil)
        }
    }
    static let state: State = {
        let s = State()
        let box = Unmanaged.passRetained(s).toOpaque()
        var t = pthread_t()
        pthread_create(&t, nil, { arg in
            let s = Unmanaged<State>.fromOpaque(arg!).takeUnretainedValue()
            var seen = 0
            while true {
                pthread_mutex_lock(&s.mutex)
                while s.generation == seen { pthread_cond_wait(&s.cond, &s.mutex) }
                seen = s.generation
                do {
                    let job = s.job!
                    pthread_mutex_unlock(&s.mutex)
                    job(1)
                }
                pthread_mutex_lock(&s.mutex)
                s.done = seen
                pthread_cond_broadcast(&s.cond)
                pthread_mutex_unlock(&s.mutex)
            }
        }, box)
        s.thread = t
        return s
    }()
    static let lock = PairLock()

    /// Whether the calling thread is running one of the halves of a `run` (the caller's or the
    /// helper's). A nested `run` would wait for itself, so callers run such halves in turn.
    static func isInside() -> Bool {
        let s = state, me = pthread_self()
        if let t = s.thread, pthread_equal(t, me) != 0 { return true }
        if let o = s.owner, pthread_equal(o, me) != 0 { return true }
        return false
    }

    static func run(_ body: @escaping @Sendable (Int) -> Void) {
        lock.lock()
        let s = state
        s.owner = pthread_self()
        defer { s.owner = nil; lock.unlock() }
        pthread_mutex_lock(&s.mutex)
        s.job = body
        s.generation += 1
        let g = s.generation
        pthread_cond_broadcast(&s.cond)
        pthread_mutex_unlock(&s.mutex)
        body(0)
        pthread_mutex_lock(&s.mutex)
        while s.done != g { pthread_cond_wait(&s.cond, &s.mutex) }
        s.job = nil
        pthread_mutex_unlock(&s.mutex)
    }
}

final class PairLock: @unchecked Sendable {
    var m = pthread_mutex_t()
    init() { pthread_mutex_init(&m, nil) }
    func lock() { pthread_mutex_lock(&m) }
    func unlock() { pthread_mutex_unlock(&m) }
}
