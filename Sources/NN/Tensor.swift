// MARK: - Tensor

/// A dense, row-major Float32 tensor that owns its storage.
///
/// A class because it owns a buffer that layers, gradients and optimizer state refer to by identity;
/// copying is explicit (`copy()`). Storage is zero-initialised and 64-byte aligned.
///
/// ```swift
/// let w = Tensor(shape: [2, 3])
/// w[1, 2] = 0.5
/// ```
public final class Tensor: @unchecked Sendable {
    /// The dimensions, outermost first.
    public private(set) var shape: [Int]
    /// Number of elements (product of `shape`).
    public private(set) var count: Int
    /// The storage; valid for `count` elements while the tensor lives.
    public private(set) var data: UnsafeMutablePointer<Float>
    private var capacity: Int

    /// A zero-filled tensor of the given shape.
    public init(shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.capacity = Swift.max(count, 1)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: capacity * 4, alignment: 64)
        self.data = raw.bindMemory(to: Float.self, capacity: capacity)
        data.initialize(repeating: 0, count: capacity)
    }

    /// A tensor holding `values` (row-major) with the given shape.
    public convenience init(shape: [Int], values: [Float]) throws(NNError) {
        let n = shape.reduce(1, *)
        guard n == values.count else {
            throw .shapeMismatch(where: "Tensor(shape:values:)", expected: shape, got: [values.count])
        }
        self.init(shape: shape)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: n) }
    }

    deinit { data.deallocate() }

    /// Changes the shape, reusing storage when it is large enough (contents are then unspecified
    /// unless `zero` is true). Used by layers to size workspaces per batch shape without allocating per step.
    public func resize(_ newShape: [Int], zero: Bool = false) {
        let n = newShape.reduce(1, *)
        if n > capacity {
            data.deallocate()
            capacity = n
            let raw = UnsafeMutableRawPointer.allocate(byteCount: capacity * 4, alignment: 64)
            data = raw.bindMemory(to: Float.self, capacity: capacity)
            data.initialize(repeating: 0, count: capacity)
        } else if zero {
            data.update(repeating: 0, count: n)
        }
        shape = newShape
        count = n
    }

    /// Sets every element to zero.
    public func zero() { data.update(repeating: 0, count: count) }

    /// Sets every element to `value`.
    public func fill(_ value: Float) { data.update(repeating: value, count: count) }

    /// The elements as an array (row-major).
    public func toArray() -> [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// A deep copy.
    public func copy() -> Tensor {
        let t = Tensor(shape: shape)
        t.data.update(from: data, count: count)
        return t
    }

    /// Copies the elements of `other` (same element count required).
    public func assign(_ other: Tensor) throws(NNError) {
        guard other.shape == shape else { throw .shapeMismatch(where: "Tensor.assign", expected: shape, got: other.shape) }
        data.update(from: other.data, count: count)
    }

    /// Element at a flat index.
    @inlinable public subscript(flat i: Int) -> Float {
        get { data[i] }
        set { data[i] = newValue }
    }

    /// Element of a matrix.
    public subscript(_ i: Int, _ j: Int) -> Float {
        get { data[i * shape[1] + j] }
        set { data[i * shape[1] + j] = newValue }
    }

    /// Number of rows when viewed as a matrix: all but the last dimension.
    public var rows: Int { shape.count <= 1 ? 1 : count / Swift.max(shape[shape.count - 1], 1) }
    /// Number of columns when viewed as a matrix: the last dimension.
    public var cols: Int { shape.last ?? 1 }
}

// MARK: - Errors

/// Errors of the neural-network core. Messages name the layer or file and the offending shapes.
public enum NNError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A tensor had the wrong shape.
    case shapeMismatch(where: String, expected: [Int], got: [Int])
    /// An argument was out of range (ids beyond the vocabulary, lengths beyond T, ...).
    case invalidArgument(where: String, message: String)
    /// A safetensors file could not be read or written.
    case io(path: String, message: String)
    /// A safetensors file is malformed.
    case format(path: String, message: String)
    /// A named tensor is missing from a checkpoint.
    case missingTensor(path: String, name: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(w, e, g): return "\(w): shape mismatch: expected \(e), got \(g)"
        case let .invalidArgument(w, m): return "\(w): \(m)"
        case let .io(p, m): return "\(p): \(m)"
        case let .format(p, m): return "\(p): malformed safetensors: \(m)"
        case let .missingTensor(p, n): return "\(p): missing tensor '\(n)'"
        }
    }
}

// MARK: - Parameters

/// A trainable tensor with its gradient and a stable name (used in safetensors files).
public final class Parameter: @unchecked Sendable {
    /// Hierarchical name, e.g. `encoder.lstm.l0.fwd.weight_ih`.
    public var name: String
    /// Current value.
    public let value: Tensor
    /// Accumulated gradient, same shape as `value`. Layers add into it; call `zeroGrad()` between steps.
    public let grad: Tensor
    /// Frozen parameters receive no gradient updates from optimizers.
    public var frozen: Bool = false
    /// Whether weight decay applies (AdamW/SGD); false for biases and norms by convention.
    public var decays: Bool

    public init(name: String, shape: [Int], decays: Bool = true) {
        self.name = name
        self.value = Tensor(shape: shape)
        self.grad = Tensor(shape: shape)
        self.decays = decays
    }
    public func zeroGrad() { grad.zero() }
}

/// Anything holding named parameters (layers, heads, whole models).
public protocol ParameterContainer: AnyObject {
    /// All parameters, in a fixed order.
    var parameters: [Parameter] { get }
}

extension ParameterContainer {
    /// Zeroes every gradient.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }
    /// Prefixes every parameter name with `prefix + "."`.
    public func rename(prefix: String) { for p in parameters { p.name = prefix + "." + p.name } }
}

extension Array where Element == Parameter {
    /// Zeroes every gradient.
    public func zeroGrad() { for p in self { p.zeroGrad() } }
}
