/// What can go wrong in a training run. Messages name the flag, command, file or step that
/// explains or fixes the problem.
public struct TrainingError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// A flag value is out of range or inconsistent with the store.
        case configuration
        /// The store's contents (tasks, vocabulary, split) do not allow the run.
        case data
        /// A checkpoint is missing, incomplete or does not verify.
        case checkpoint
        /// A resume would continue a different run (changed store, split, vocabulary or settings).
        case resume
        /// A loss or gradient became NaN or infinite.
        case nonFinite
        /// A file could not be written or read.
        case io
    }
    public var kind: Kind
    public var message: String
    /// The file or folder concerned, when there is one.
    public var path: String?

    public init(_ kind: Kind, _ message: String, path: String? = nil) {
        self.kind = kind; self.message = message; self.path = path
    }

    public var description: String { path.map { "\($0): \(message)" } ?? message }
}
