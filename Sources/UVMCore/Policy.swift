// The kernel's behaviour: `modern` by default, and every historic knob (docs/wiring.md, *Policy
// knobs*), declared in one place. Each knob is read inside the mechanism it changes (named beside
// it), so flipping one changes nothing else; beside each, the docs/catalog.md entries it brings
// back.

public struct Policy: Sendable, Equatable {
    /// Catalog W6. `Wiring.userWiringChange`, `Kernel.shmctl`.
    public enum WiringKinds: String, Sendable, CaseIterable { case split, sharedCount = "shared-count" }
    /// Catalog W2, W3, W4. `Glue.swift` (vslock, vsunlock).
    public enum Vslock: String, Sendable, CaseIterable { case hold, entry, busy }
    /// Catalog W1. `VnodeObject.setSize`.
    public enum Truncate: String, Sendable, CaseIterable { case deferFree = "defer", free }
    /// Catalog W5. `UVM.wiringBreaksLoans`, `UVM.unloan` (`Loan.swift`).
    public enum WireLoan: String, Sendable, CaseIterable { case breakLoan = "break", keep }
    /// Catalog W11. `UVM.wiringFault` (`Wiring.swift`).
    public enum WireProt: String, Sendable, CaseIterable { case max, current }
    /// Catalog W8, W11. `UVM.wiresFollowPages` and `releaseRangeWiring` (`Wiring.swift`).
    public enum Unwire: String, Sendable, CaseIterable { case object, pmap }
    /// Catalog W7. `Kernel.exec`.
    public enum FutureWire: String, Sendable, CaseIterable { case reset, keep }
    /// Catalog W9, W10. `VnodeObject.pageIn`, `VnodeObject.lockBeforePageIn`.
    public enum VnodeFault: String, Sendable, CaseIterable {
        case trylockRestart = "trylock-restart", busyThenLock = "busy-then-lock", lockEarly = "lock-early"
    }
    /// Catalog W12. `UVM.fault` (the no-memory case).
    public enum WiredExhaustion: String, Sendable, CaseIterable { case fail, wait }

    public var wiring = WiringKinds.split
    public var vslock = Vslock.hold
    public var truncate = Truncate.deferFree
    public var wireLoan = WireLoan.breakLoan
    public var wireProt = WireProt.max
    public var unwire = Unwire.object
    public var futureWire = FutureWire.reset
    public var vnodeFault = VnodeFault.trylockRestart
    public var wiredExhaustion = WiredExhaustion.fail

    public init() {}

    public static let modern = Policy()

    /// Every knob with its values, the modern one first.
    public static let knobs: [(name: String, values: [String])] = [
        ("wiring", WiringKinds.allCases.map(\.rawValue)), ("vslock", Vslock.allCases.map(\.rawValue)),
        ("truncate", Truncate.allCases.map(\.rawValue)), ("wire-loan", WireLoan.allCases.map(\.rawValue)),
        ("wire-prot", WireProt.allCases.map(\.rawValue)), ("unwire", Unwire.allCases.map(\.rawValue)),
        ("futurewire", FutureWire.allCases.map(\.rawValue)), ("vnode-fault", VnodeFault.allCases.map(\.rawValue)),
        ("wired-exhaustion", WiredExhaustion.allCases.map(\.rawValue)),
    ]

    public enum SetError: Error, Equatable {
        case unknownKnob(String)
        case unknownValue(knob: String, value: String, allowed: [String])
    }

    /// Applies `policy KNOB=VALUE` (or `policy modern`, which resets every knob).
    public mutating func set(_ knob: String, _ value: String) throws(SetError) {
        if knob == "modern" && value.isEmpty { self = .modern; return }
        func parse<E: RawRepresentable<String> & CaseIterable>(_: E.Type) throws(SetError) -> E {
            guard let v = E(rawValue: value) else {
                throw .unknownValue(knob: knob, value: value, allowed: E.allCases.map(\.rawValue))
            }
            return v
        }
        switch knob {
        case "wiring": wiring = try parse(WiringKinds.self)
        case "vslock": vslock = try parse(Vslock.self)
        case "truncate": truncate = try parse(Truncate.self)
        case "wire-loan": wireLoan = try parse(WireLoan.self)
        case "wire-prot": wireProt = try parse(WireProt.self)
        case "unwire": unwire = try parse(Unwire.self)
        case "futurewire": futureWire = try parse(FutureWire.self)
        case "vnode-fault": vnodeFault = try parse(VnodeFault.self)
        case "wired-exhaustion": wiredExhaustion = try parse(WiredExhaustion.self)
        default: throw .unknownKnob(knob)
        }
    }

    /// The knobs in force, as `KNOB=VALUE`, historic ones marked.
    public var description: [String] {
        let values = [wiring.rawValue, vslock.rawValue, truncate.rawValue, wireLoan.rawValue, wireProt.rawValue,
                      unwire.rawValue, futureWire.rawValue, vnodeFault.rawValue, wiredExhaustion.rawValue]
        return zip(Self.knobs, values).map { knob, v in "\(knob.name)=\(v)" + (v == knob.values[0] ? "" : " (historic)") }
    }
}
