// Checks a scenario before it runs: `machine` comes before anything else, and every policy knob
// and value (of the file and of the command line) exists, so a mistake is reported at its line
// instead of half-way through a run.

import UVMCore
import UVMScenario

enum Preflight {
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
            default:
                break
            }
            if case .machine = st.kind {} else { seenOther = true }
        }
        let cli = SourceLocation(file: "--policy", line: 0, column: 0)
        for (knob, value) in policyOverrides { try checkPolicy(knob, value, cli) }
    }

    private static func checkPolicy(_ knob: String, _ value: String, _ loc: SourceLocation) throws(ScenarioError) {
        var p = Policy()
        do {
            try p.set(knob, value)
        } catch {
            switch error {
            case .unknownKnob:
                throw ScenarioError(location: loc, message: "expected 'modern' or a policy knob (\(Policy.knobs.map(\.name).joined(separator: ", "))), found '\(knob)'")
            case .unknownValue(_, _, let allowed):
                throw ScenarioError(location: loc, message: "expected \(knob)=\(allowed.joined(separator: "|")), found '\(value)'")
            }
        }
    }
}
