// Helpers shared by the kernel tests: every test writes a small scenario, runs it through the
// public API (parse, then run under the scheduler with the audit after every step) and looks at
// the outcome and at the result of particular lines.

import Testing
import UVMRunner
import UVMScenario
import UVMSched

/// Parses `text` as `t.uvm` and runs it once with the per-step audit.
@Sim
func run(_ text: String, seed: UInt64 = 0) async throws -> RunReport {
    var opts = RunOptions()
    opts.auditEveryStep = true
    opts.seed = seed
    return try await run(text, options: opts)
}

@Sim
func run(_ text: String, options: RunOptions) async throws -> RunReport {
    let scenario = try ScenarioParser.parse(text, file: "t.uvm")
    return try await ScenarioRunner.run(scenario, source: text, options: options)
}

extension RunReport {
    /// The result printed for source line `line` ("LINE: source -> result"), nil if the line
    /// did not run. With several (a line in a loop never happens here), the last.
    func result(_ line: Int) -> String? {
        let prefix = "\(line): "
        guard let l = lines.last(where: { $0.hasPrefix(prefix) }) else { return nil }
        return resultPart(l)
    }

    /// Every result by source line.
    var results: [Int: String] {
        var out: [Int: String] = [:]
        for l in lines {
            guard let colon = l.firstIndex(of: ":"), let n = Int(l[..<colon]), let r = resultPart(l) else { continue }
            out[n] = r
        }
        return out
    }

    /// The whole run, for failure messages.
    var transcript: String { (lines + [outcome.summary]).joined(separator: "\n") }
}

/// What follows the last " -> " of a printed line.
private func resultPart(_ l: String) -> String? {
    var rest = Substring(l)
    var result: Substring?
    while let r = rest.firstRange(of: " -> ") {
        result = rest[r.upperBound...]
        rest = rest[r.upperBound...]
    }
    return result.map(String.init)
}

/// Records an issue showing the transcript unless the run passed.
func expectPass(_ r: RunReport, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    #expect(r.outcome == .pass, "\(r.transcript)", sourceLocation: sourceLocation)
}

/// The 1-based number of the first line of `text` that contains `marker` (so tests name lines by
/// their content instead of counting).
func line(_ marker: String, in text: String) -> Int {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    guard let i = lines.firstIndex(where: { $0.contains(marker) }) else {
        Issue.record("no line contains '\(marker)'")
        return 0
    }
    return i + 1
}
