// What a run can end with besides success: the BUG kinds of docs/scenario-language.md.

/// The kinds of kernel failure, named as the scenario contract prints them.
public enum FailureKind: String, Sendable, CaseIterable {
    case panic, deadlock, livelock
    case lockOrder = "lock-order"
    case useAfterFree = "use-after-free"
    case dataLoss = "data-loss"
    case leak, invariant
}

/// A kernel failure: printed as `BUG kind: message`, followed by its details.
public struct KernelFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public var kind: FailureKind
    public var message: String
    public var details: [String]

    public init(_ kind: FailureKind, _ message: String, details: [String] = []) {
        self.kind = kind
        self.message = message
        self.details = details
    }

    public var description: String { "BUG \(kind.rawValue): \(message)" }
}
