import CBLAS
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@inline(__always) private func c_exp(_ x: Double) -> Double { exp(x) }
@inline(__always) private func c_log(_ x: Double) -> Double { log(x) }
@inline(__always) private func c_cos(_ x: Double) -> Double { cos(x) }

// MARK: - Scalar math

/// Scalar math used by the core. The gate loops use `fastTanh`/`fastSigmoid`, rational approximations
/// the compiler inlines and vectorises (libm calls would stop vectorisation).
public enum Math {
    @inline(__always) public static func exp(_ x: Float) -> Float { expf(x) }
    @inline(__always) public static func log(_ x: Float) -> Float { logf(x) }
    @inline(__always) public static func pow(_ x: Float, _ y: Float) -> Float { powf(x, y) }
    @inline(__always) public static func expD(_ x: Double) -> Double { c_exp(x) }
    @inline(__always) public static func logD(_ x: Double) -> Double { c_log(x) }
    @inline(__always) public static func cosD(_ x: Double) -> Double { c_cos(x) }

    /// tanh as a 13/6 rational approximation (Eigen's `generic_fast_tanh_float`), max abs error ~1e-7.
    @inline(__always)
    public static func fastTanh(_ x0: Float) -> Float {
        let x = Swift.min(Swift.max(x0, -7.905_311_1), 7.905_311_1)
        let x2 = x * x
        var p: Float = -2.760_768_5e-16
        p = p * x2 + 2.000_187_9e-13
        p = p * x2 + -8.604_671_5e-11
        p = p * x2 + 5.122_297_1e-08
        p = p * x2 + 1.485_722_4e-05
        p = p * x2 + 6.372_619_3e-04
        p = p * x2 + 4.893_524_6e-03
        p = p * x
        var q: Float = 1.198_258_4e-06
        q = q * x2 + 1.185_347_1e-04
        q = q * x2 + 2.268_434_6e-03
        q = q * x2 + 4.893_525_2e-03
        let r = p / q
        return Swift.min(Swift.max(r, -1), 1)
    }

    /// The logistic function through `fastTanh`: σ(x) = ½ + ½·tanh(x/2).
    @inline(__always)
    public static func fastSigmoid(_ x: Float) -> Float { 0.5 + 0.5 * fastTanh(0.5 * x) }

    /// log Σ exp(xᵢ) over a strided range, stable.
    @inline(__always)
    static func logSumExp(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var m = -Float.infinity
        for i in 0..<n { m = Swift.max(m, p[i]) }
        if m == -.infinity { return m }
        var s: Float = 0
        for i in 0..<n { s += expf(p[i] - m) }
        return m + logf(s)
    }
}

// MARK: - BLAS

/// Thin wrappers over OpenBLAS and the process-wide compute settings.
public enum BLAS {
    /// Sets the thread count used for the core's parallel parts (default 1). With ≥ 2, the two
    /// directions of a BiLSTM (and the two halves of a decoder's batch) run on two threads with
    /// single-threaded BLAS each, and other matrix products of at least `multithreadFlops` are split
    /// in two halves on the same two threads (exactly 2) or use that many OpenBLAS threads (≥ 3).
    ///
    /// Why not OpenBLAS's own threads at 2: its idle workers spin (sched_yield) for a long while after
    /// each threaded call, and on two cores they then compete with the two threads of the next
    /// `parallelPair`; the persistent pair thread sleeps instead. Splitting C by rows or columns does
    /// not change any element's arithmetic, so the results are the same as unsplit.
    public static func setThreads(_ n: Int) {
        settings.threads = Swift.max(1, n)
        settings.limit = settings.threads
        setBLASThreads(settings.threads == 2 ? 1 : settings.threads)
    }

    /// Products below this many flops run single-threaded: splitting them costs more than it gains
    /// (and a second BLAS thread spinning on a busy machine slows the whole step).
    public static let multithreadFlops = 1 << 25

    @inline(__always) static func setBLASThreads(_ n: Int) {
        if settings.current != n { settings.current = n; mtl_blas_set_threads(Int32(n)) }
    }
    /// The current thread setting.
    public static var threads: Int { settings.threads }
    /// The OpenBLAS kernel set in use (e.g. "Haswell", "SkylakeX").
    public static var coreName: String {
        guard let p = mtl_blas_corename() else { return "unknown" }
        return String(decoding: UnsafeBufferPointer(start: p, count: strlen(p)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether this CPU supports AVX-512F (Linux: /proc/cpuinfo). OpenBLAS 0.3.21 may not detect
    /// newer AVX-512 CPUs and fall back to Haswell kernels; `OPENBLAS_CORETYPE=SkylakeX` must then be
    /// set in the environment before the library loads (see docs/nn.md, "OpenBLAS kernels").
    public static var cpuHasAVX512F: Bool {
        guard let f = fopen("/proc/cpuinfo", "r") else { return false }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 1 << 16)
        while fgets(&buf, Int32(buf.count), f) != nil {
            let line = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if line.hasPrefix("flags") { return line.contains(" avx512f") }
        }
        return false
    }

    final class Settings: @unchecked Sendable {
        var threads = 1      // the user's setting
        var limit = 1        // 1 while both halves of a parallelPair run
        var current = -1     // what OpenBLAS is set to
    }
    static let settings = Settings()

    /// C[m×n] = alpha·op(A)·op(B) + beta·C, row-major, leading dimensions explicit.
    @inline(__always)
    static func gemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                     _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
                     _ b: UnsafePointer<Float>, _ ldb: Int,
                     _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        if m == 0 || n == 0 { return }
        let big = settings.limit > 1 && 2 * m * n * k >= multithreadFlops
        if big && settings.limit == 2 {
            // Halve the larger operand: each half packs half of it and all of the smaller one.
            if m >= n {
                let m0 = m / 2
                parallelPair { h in
                    let i = h == 0 ? 0 : m0, rows = h == 0 ? m0 : m - m0
                    call(transA, transB, rows, n, k, alpha, transA ? a + i : a + i * lda, lda, b, ldb, beta, c + i * ldc, ldc)
                }
            } else {
                let n0 = n / 2
                parallelPair { h in
                    let j = h == 0 ? 0 : n0, cols = h == 0 ? n0 : n - n0
                    call(transA, transB, m, cols, k, alpha, a, lda, transB ? b + j * ldb : b + j, ldb, beta, c + j, ldc)
                }
            }
            return
        }
        setBLASThreads(big ? settings.limit : 1)
        call(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// One sgemm call with the current OpenBLAS setting.
    private static func call(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                             _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
                             _ b: UnsafePointer<Float>, _ ldb: Int,
                             _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            else if beta != 1 { for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } } }
            return
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Runs `body(0)` and `body(1)` concurrently when threads ≥ 2 (BLAS single-threaded meanwhile),
    /// else one after the other. Results do not depend on the schedule.
    static func parallelPair(_ body: (Int) -> Void) {
        // Within a half (a product split inside a pair's half, or a caller on another thread
        // resetting `limit` meanwhile) the halves run in turn: a nested pair would wait for itself.
        if settings.threads >= 2 && settings.limit > 1 && !Pair.isInside() {
            setBLASThreads(1)
            settings.limit = 1
            withoutActuallyEscaping(body) { b in
                let box = UncheckedBox(b)
                Pair.run { box.value($0) }
            }
            settings.limit = settings.threads
        } else {
            body(0); body(1)
        }
    }

    /// Measures single-call sgemm throughput (GFLOP/s) for n×n×n with the current thread setting.
    public static func measurePeakGFLOPS(n: Int = 1024, repeats: Int = 5) -> Double {
        let a = Tensor(shape: [n, n]), b = Tensor(shape: [n, n]), c = Tensor(shape: [n, n])
        a.fill(0.5); b.fill(0.25)
        gemm(false, false, n, n, n, 1, a.data, n, b.data, n, 0, c.data, n)
        var best = Double.infinity
        for _ in 0..<repeats {
            let t0 = Clock.now()
            gemm(false, false, n, n, n, 1, a.data, n, b.data, n, 0, c.data, n)
            best = Swift.min(best, Clock.now() - t0)
        }
        return 2 * Double(n * n * n) / best / 1e9
    }
}

struct UncheckedBox<T>: @unchecked Sendable { let value: T; init(_ v: T) { value = v } }

/// Monotonic wall clock in seconds.
public enum Clock {
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
