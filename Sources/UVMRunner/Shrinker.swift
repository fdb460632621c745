// Shrinking a failure: the fewest preemptions first (DFS at bounds 0, 1, 2, ... finds the
// shallowest schedule that fails the same way: the bug's depth), then the fewest operations of
// the scenario (each line is dropped in turn while the same failure can still be had at that
// depth). The result replays: its token runs the reduced scenario step for step.

import UVMScenario
import UVMSched

public struct ShrinkResult: Sendable {
    /// The reduced scenario and the run that fails on it.
    public var scenario: Scenario
    public var report: RunReport
    /// The shallowest failing run of the full scenario (replays on the original file).
    public var fullScenarioReport: RunReport
    /// Preemptions the failure needs (nil if not found within the bound: deeper than it).
    public var depth: Int?
    /// Source lines of the operations that were dropped.
    public var droppedLines: [Int]
}

@Sim
public enum Shrinker {
    /// Whether two outcomes are the same failure: the same BUG kind, or a FAIL on the same line.
    public nonisolated static func sameFailure(_ a: Outcome, _ b: Outcome) -> Bool {
        switch (a, b) {
        case (.bug(let x), .bug(let y)): x.kind == y.kind
        case (.fail(let l1, _, _), .fail(let l2, _, _)): l1 == l2
        default: false
        }
    }

    public static func shrink(_ scenario: Scenario, source: String, base: RunOptions, failing: RunReport,
                              maxPreemptions: Int = 3, budget: Int = 3000,
                              dropOperations: Bool = true) async throws(ScenarioError) -> ShrinkResult {
        var result = ShrinkResult(scenario: scenario, report: failing, fullScenarioReport: failing, depth: nil, droppedLines: [])
        let target = failing.outcome
        // Fewest preemptions.
        for bound in 0...maxPreemptions {
            if let r = try await findShallow(scenario, source, base, target, bound, budget) {
                result.report = r
                result.fullScenarioReport = r
                result.depth = bound
                break
            }
        }
        guard dropOperations, let depth = result.depth else { return result }
        // Fewest operations, at that depth.
        for op in operations(of: result.scenario).reversed() {
            let candidate = removing(op, from: result.scenario)
            let r: RunReport?
            do {
                r = try await findShallow(candidate, source, base, target, depth, budget / 4)
            } catch {
                continue  // dropping it broke the scenario (a variable it bound is used later)
            }
            if let r {
                result.scenario = candidate
                result.report = r
                result.droppedLines.append(op.line)
            }
        }
        result.droppedLines.sort()
        return result
    }

    private static func findShallow(_ scenario: Scenario, _ source: String, _ base: RunOptions, _ target: Outcome,
                                    _ bound: Int, _ budget: Int) async throws(ScenarioError) -> RunReport? {
        var e = ExploreOptions()
        e.strategy = .dfs
        e.preemptions = bound
        e.runs = budget
        e.stopsAt = { sameFailure($0, target) }
        return try await Explorer.explore(scenario, source: source, base: base, e).found
    }

    /// An operation's place: its statement, and its index inside a `together` block.
    struct OperationRef { let statement: Int; let inBlock: Int?; let line: Int }

    static func operations(of s: Scenario) -> [OperationRef] {
        var out: [OperationRef] = []
        for (i, st) in s.statements.enumerated() {
            switch st.kind {
            case .operation(let op): out.append(OperationRef(statement: i, inBlock: nil, line: op.location.line))
            case .together(let ops):
                for (j, op) in ops.enumerated() { out.append(OperationRef(statement: i, inBlock: j, line: op.location.line)) }
            case .expect(let e): out.append(OperationRef(statement: i, inBlock: nil, line: e.location.line))
            default: break
            }
        }
        return out
    }

    static func removing(_ ref: OperationRef, from s: Scenario) -> Scenario {
        var out = s
        if let j = ref.inBlock, case .together(var ops) = s.statements[ref.statement].kind {
            ops.remove(at: j)
            if ops.isEmpty {
                out.statements.remove(at: ref.statement)
            } else {
                out.statements[ref.statement].kind = .together(ops)
            }
        } else {
            out.statements.remove(at: ref.statement)
        }
        return out
    }
}
