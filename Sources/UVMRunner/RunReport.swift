// What a run produces: the outcome (PASS, FAIL, BUG), the printed lines, and the replay token.

import UVMKernel
import UVMSched

public struct RunOptions: Sendable {
    /// 0: threads in file order, switching only when one blocks; otherwise random choices.
    public var seed: UInt64 = 0
    /// Systematic exploration: follow this prefix of choices, then file order, and log every
    /// decision (overrides `seed`).
    public var dfs: (prefix: [Int], log: DFSStrategy.Log)?
    /// With a non-zero seed: PCT instead of uniform random choices, with this many scheduling
    /// decisions expected in a run (estimated from a first run) and this depth.
    public var pct: (steps: Int, depth: Int)?
    /// Choices to replay (from a token); overrides `seed`.
    public var replay: [Int]?
    /// Keep every step of the schedule for printing.
    public var trace = false
    /// Run the audit after every step (it always runs at the end).
    public var auditEveryStep = false
    /// Fold a digest of the kernel's state after every step into `RunReport.stateHash` (for the
    /// replay self-check).
    public var hashState = false
    /// `--policy KNOB=VALUE` overrides, applied after the file's own policy lines.
    public var policy: [(knob: String, value: String)] = []
    /// Called before each operation with the kernel and the operation's line: lets a test damage
    /// the machine behind the kernel's back to show that the checker notices.
    public var beforeOperation: (@Sim (Kernel, Int) -> Void)?
    /// `uvm show`: capture the state at the end of the scenario (before the final exits) ...
    public var showState = false
    /// ... or after step N of the schedule.
    public var snapshotStep: Int?

    public init() {}
}

public enum Outcome: Sendable, Equatable {
    case pass
    case fail(line: Int, expected: String, got: String)
    case bug(KernelFailure)

    public var exitCode: Int32 {
        switch self {
        case .pass: 0
        case .fail: 1
        case .bug: 2
        }
    }

    public var summary: String {
        switch self {
        case .pass: "PASS"
        case .fail(let line, let expected, let got): "FAIL line \(line): expected \(expected), got \(got)"
        case .bug(let f): f.description
        }
    }
}

public struct RunReport: Sendable {
    public var outcome: Outcome
    /// One line per operation and expectation: where, what, and the result.
    public var lines: [String]
    /// Replays this exact schedule (`uvm replay FILE TOKEN`).
    public var token: String
    public var steps: Int
    /// Scheduling decisions the run made (switch points with two or more runnable threads).
    public var decisions: Int
    /// Simulated threads the run created.
    public var threads: Int
    public var traceHash: UInt64
    /// With `hashState`: a hash over every step of the kernel's state (page counters, each
    /// process's map and pmap sizes), so two runs can be compared step for step.
    public var stateHash: UInt64 = 0
    /// The schedule's steps, when asked for (`--trace`) or when the run found a BUG.
    public var trace: [String]
    /// `uvm show`: the state at the end, or after the step asked for.
    public var state: String?
}

/// Replay tokens: "t1", the strategy and seed that found the schedule ("-r17" random, "-p17"
/// PCT, "-d" DFS, "-f" file order), ".", then one base-36 digit per scheduling choice (a choice
/// of 36 or more, among that many runnable threads, is written in decimal between braces:
/// "{40}"). Only the choices are needed to replay; the rest says where the schedule came from.
public enum ReplayToken {
    private static let digits = Array("0123456789abcdefghijklmnopqrstuvwxyz")

    public static func encode(_ choices: [Int], origin: String = "") -> String {
        var text = "t1" + (origin.isEmpty ? "" : "-" + origin) + "."
        for c in choices {
            if c < digits.count { text.append(digits[c]) } else { text += "{\(c)}" }
        }
        return text
    }

    public static func decode(_ token: String) -> [Int]? {
        guard token.hasPrefix("t1"), let dot = token.firstIndex(of: ".") else { return nil }
        var out: [Int] = []
        var rest = token[token.index(after: dot)...]
        while let c = rest.first {
            rest = rest.dropFirst()
            if c == "{" {
                guard let close = rest.firstIndex(of: "}"), let n = Int(rest[..<close]), n >= digits.count else { return nil }
                out.append(n)
                rest = rest[rest.index(after: close)...]
            } else {
                guard let i = digits.firstIndex(of: c) else { return nil }
                out.append(i)
            }
        }
        return out
    }
}
