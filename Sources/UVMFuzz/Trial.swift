// One scenario explored over a few schedules, as the fuzzer and its shrinker run it: file order
// first, then random and PCT schedules, the audit after every step; the coverage its runs
// reached; and the first BUG, named by a signature that tells distinct bugs apart.

import UVMKernel
import UVMRunner
import UVMScenario
import UVMSched

/// What exploring one scenario found.
struct TrialResult {
    var coverage = Coverage()
    var schedules = 0
    /// The first run that ended in a BUG.
    var bug: (report: RunReport, failure: KernelFailure, signature: String)?
    /// A run ended in FAIL: the scenario asserted something that did not hold.
    var failed: RunReport?
    /// The scenario could not run: a line named a variable a failed line did not bind.
    var scenarioError: ScenarioError?
    /// The campaign's deadline or memory ceiling stopped a run: the scenario is neither a BUG
    /// nor a generator mistake, and the campaign is over.
    var stopped: LimitReached?
    /// The scenario's own budget ran out first: abandoned, and the campaign goes on.
    var tooCostly = false
}

@Sim
struct Trial {
    var policy: [(knob: String, value: String)]
    /// The campaign's deadline and memory ceiling, checked inside every run.
    var limits = ResourceLimits.none
    /// Seconds one scenario's schedules may take together (nil: no budget of its own).
    var scenarioSeconds: Double?

    /// Explores `text` over `schedules` schedules drawn from `seed`, stopping at the first BUG
    /// (or the first whose signature is `wanted`, when given). `first` is tried before the
    /// others: a replay token's choices.
    func explore(_ text: String, seed: UInt64, schedules: Int, first: [Int]? = nil,
                 wanted: String? = nil) async -> TrialResult {
        var result = TrialResult()
        let scenario: Scenario
        do {
            scenario = try ScenarioParser.parse(text, file: "fuzz.uvm")
        } catch {
            result.scenarioError = error
            return result
        }
        let forms = Self.forms(scenario)
        let probe = PageStateProbe()
        var decisions = 1
        let runLimits = scenarioSeconds.map { limits.ending(by: ResourceLimits.deadline(in: $0)) } ?? limits
        for i in 0..<(schedules + (first == nil ? 0 : 1)) {
            var o = RunOptions()
            o.auditEveryStep = true
            o.policy = policy
            o.limits = runLimits
            o.beforeOperation = { kernel, _ in
                probe.inspect(kernel)
                probe.watch(kernel.sched)
            }
            let n = first == nil ? i : i - 1
            if n < 0 {
                o.replay = first
            } else if n > 0 {
                // Distinct, non-zero seeds per scenario; every other one PCT.
                o.seed = (seed &* 0x9e37_79b9_7f4a_7c15 &+ UInt64(n)) | 1
                if n % 2 == 0 { o.pct = (max(decisions, 1), 3) }
            }
            let report: RunReport
            do {
                report = try await ScenarioRunner.run(scenario, source: text, options: o)
            } catch {
                result.scenarioError = error
                return result
            }
            if n == 0 { decisions = report.decisions }
            result.schedules += 1
            for line in report.lines {
                guard let colon = line.firstIndex(of: ":"), let number = Int(line[..<colon]), let form = forms[number],
                      let arrow = line.range(of: " -> ", options: .backwards) else { continue }
                result.coverage.note(form: form, result: String(line[arrow.upperBound...]))
            }
            result.coverage.note(outcome: report.outcome.kindName)
            switch report.outcome {
            case .pass: continue
            case .stopped(let reached):
                // The scenario's budget, not the campaign's deadline or memory ceiling.
                if reached == .time && limits.exceeded() == nil {
                    result.tooCostly = true
                } else {
                    result.stopped = reached
                }
                result.coverage.merge(probe.coverage)
                return result
            case .fail:
                result.failed = report
                result.coverage.merge(probe.coverage)
                return result
            case .bug(let failure):
                let signature = Signature.of(failure, forms: forms)
                if let wanted, signature != wanted { continue }
                result.bug = (report, failure, signature)
                result.coverage.merge(probe.coverage)
                return result
            }
        }
        result.coverage.merge(probe.coverage)
        return result
    }

    /// Each operation line's form, by line number.
    nonisolated static func forms(_ scenario: Scenario) -> [Int: String] {
        var out: [Int: String] = [:]
        for st in scenario.statements {
            switch st.kind {
            case .operation(let op): out[op.location.line] = OperationTable.form(of: op.command)
            case .together(let ops): for op in ops { out[op.location.line] = OperationTable.form(of: op.command) }
            default: break
            }
        }
        return out
    }
}

/// A BUG's identity across scenarios: its kind and its message with the scenario's own names,
/// addresses and numbers folded away, so the same kernel site found from two scenarios counts once.
public enum Signature {
    /// `forms` gives each scenario line's operation form: `line 12` in a message becomes the
    /// form on that line (`data-loss: check reads ...`), which tells apart BUGs whose messages
    /// differ only in where they were seen.
    public static func of(_ f: KernelFailure, forms: [Int: String] = [:]) -> String {
        f.kind.rawValue + ": " + normalize(naming(lines: f.message, forms))
    }

    private static func naming(lines message: String, _ forms: [Int: String]) -> String {
        var out = ""
        var rest = Substring(message)
        while let r = rest.range(of: "line ") {
            out += rest[..<r.upperBound]
            rest = rest[r.upperBound...]
            let digits = rest.prefix { $0.isNumber }
            if let n = Int(digits), let form = forms[n] {
                out += form
                rest = rest.dropFirst(digits.count)
            }
        }
        return out + rest
    }

    /// The message with names and numbers folded, and a list of like items (`busy page ·, busy
    /// page ·`) folded to its first: the same site holding three pages or one.
    static func normalize(_ message: String) -> String {
        var items: [Substring] = []
        for item in fold(message).split(separator: ", ", omittingEmptySubsequences: false) {
            if let last = items.last, last.hasSuffix(item) { continue }
            items.append(item)
        }
        return items.joined(separator: ", ")
    }

    private static func fold(_ message: String) -> String {
        var out = ""
        var word = ""
        func flush() {
            if !word.isEmpty { out += isVariable(word) ? "·" : word }
            word = ""
        }
        for c in message {
            if c.isLetter || c.isNumber || c == "_" {
                word.append(c)
            } else {
                flush()
                out.append(c)
            }
        }
        flush()
        return out
    }

    /// A number, or a name the generator makes: `p2`, `p1t1`, `c1`, `m3`, `dev1`, `0x4000`.
    private static func isVariable(_ w: String) -> Bool {
        if w.allSatisfy(\.isNumber) || (w.hasPrefix("0x") && w.count > 2) { return true }
        var rest = Substring(w)
        if rest.hasPrefix("dev") { rest = rest.dropFirst(3) } else if let c = rest.first, "pcmshlf".contains(c) { rest = rest.dropFirst() } else { return false }
        let digits = rest.prefix { $0.isNumber }
        guard !digits.isEmpty else { return false }
        rest = rest.dropFirst(digits.count)
        if rest.hasPrefix("t") { rest = rest.dropFirst() }
        return rest.allSatisfy(\.isNumber)
    }
}
