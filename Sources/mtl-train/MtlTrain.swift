import ArgumentParser
import Foundation
import Training

/// Messages to standard error; data to standard output.
enum Console {
    static let isTTY = isatty(2) == 1
    static func error(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
    static func out(_ s: String) { FileHandle.standardOutput.write(Data(s.utf8)) }
}

/// Turns library errors into one-line messages without stack traces.
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as TrainingError {
        throw ValidationFailure(e.description)
    }
}

struct ValidationFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

extension ValidationFailure: LocalizedError {
    var errorDescription: String? { description }
}
