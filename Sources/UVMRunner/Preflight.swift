// Checks a scenario before it runs: statements this kernel does not implement yet are reported
// at their line, cleanly, instead of failing half-way through a run.

import UVMScenario

enum Preflight {
    /// The policy knobs of BUGS.md. Each historic value arrives with the issue that builds it.
    static let knobs: [String: [String]] = [
        "wiring": ["split", "shared-count"], "vslock": ["hold", "entry", "busy"],
        "truncate": ["defer", "free"], "wire-loan": ["break", "keep"], "wire-prot": ["max", "current"],
        "unwire": ["object", "pmap"], "futurewire": ["reset", "keep"],
        "vnode-fault": ["trylock-restart", "busy-then-lock", "lock-early"], "wired-exhaustion": ["fail", "wait"],
    ]

    static func check(_ scenario: Scenario, policyOverrides: [(knob: String, value: String)]) throws(ScenarioError) {
        var seenOther = false
        for st in scenario.statements {
            switch st.kind {
            case .machine:
                if seenOther {
                    throw ScenarioError(location: st.location, message: "expected 'machine' before any other statement")
                }
            case .policy(let knob, let value):
                try checkPolicy(knob, value, st.location)
            case .operation(let op):
                try checkSupported(op)
            case .together(let ops):
                for op in ops { try checkSupported(op) }
            default:
                break
            }
            if case .machine = st.kind {} else { seenOther = true }
        }
        let cli = SourceLocation(file: "--policy", line: 0, column: 0)
        for (knob, value) in policyOverrides { try checkPolicy(knob, value, cli) }
    }

    private static func checkPolicy(_ knob: String, _ value: String, _ loc: SourceLocation) throws(ScenarioError) {
        if knob == "modern" && value.isEmpty { return }
        guard let values = knobs[knob] else {
            throw ScenarioError(location: loc, message: "expected 'modern' or a policy knob (\(knobs.keys.sorted().joined(separator: ", "))), found '\(knob)'")
        }
        guard values.contains(value) else {
            throw ScenarioError(location: loc, message: "expected \(knob)=\(values.joined(separator: "|")), found '\(value)'")
        }
        if value != values[0] {
            throw ScenarioError(location: loc, message: "policy \(knob)=\(value): not supported yet")
        }
    }

    private static func checkSupported(_ op: Operation) throws(ScenarioError) {
        let later: String? = switch op.command {
        default: nil
        }
        if let later {
            throw ScenarioError(location: op.location, message: "\(later): not supported yet")
        }
    }
}
