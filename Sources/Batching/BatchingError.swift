/// What can go wrong when making batches. The message names the command that fixes it.
public struct BatchingError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// The store has no vocabulary (of that name).
        case noVocabulary
        /// The store has no split (of that name).
        case noSplit
        /// A configuration value is out of range or inconsistent.
        case invalidConfiguration
        /// A task named in the configuration does not exist, or has no training examples.
        case task
        /// The store's contents break an invariant (missing encoded ids, tags that do not
        /// match the tokens, …).
        case data
        /// A `LoaderState` that does not belong to this loader's configuration.
        case state
        /// An error from the store.
        case store
    }
    public var kind: Kind
    public var message: String
    public init(_ kind: Kind, _ message: String) { self.kind = kind; self.message = message }
    public var description: String { message }
}
