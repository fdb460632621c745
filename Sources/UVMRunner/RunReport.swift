// What a run produces: the outcome (PASS, FAIL, BUG, or STOPPED by a limit), the printed lines,
// and the replay token.

import UVMKernel
import UVMScenario
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
    /// With `auditEveryStep`: audit the steps only from this scheduling decision on. A caller
    /// sets it when an audited run of the same scenario made the same decisions before it: runs
    /// replay exactly, so the steps before reach states that run already audited.
    public var auditFromDecision = 0
    /// Fold a digest of the kernel's state after every step into `RunReport.stateHash` (for the
    /// replay self-check).
    public var hashState = false
    /// `--policy KNOB=VALUE` overrides, applied after the file's own policy lines.
    public var policy: [(knob: String, value: String)] = []
    /// Called before each operation with the kernel and the operation's line: lets a test damage
    /// the machine behind the kernel's back to show that the checker notices.
    public var beforeOperation: (@Sim (Kernel, Int) -> Void)?
    /// With `replay`: the origin of the token replayed, so that the token printed back is the
    /// same (a replay with none says `x`).
    public var replayOrigin: String?
    /// `uvm show`: capture the state at these moments (read only: the kernel is not touched).
    public var showState = false
    public var showAt: [ShowMoment] = [.outcome]
    /// The command's deadline and memory ceiling, checked inside the run every
    /// `ScenarioRunner.limitCheckInterval` steps: one run too long or too large for them ends
    /// STOPPED instead of overrunning them.
    public var limits = ResourceLimits.none

    public init() {}
}

public enum Outcome: Sendable, Equatable {
    case pass
    case fail(line: Int, expected: String, got: String)
    case bug(KernelFailure)
    /// The command's deadline or memory ceiling ended the run before its end: nothing is known
    /// of the scenario past that point, so it is neither a pass nor a failure.
    case stopped(LimitReached)

    public var exitCode: Int32 {
        switch self {
        case .pass: 0
        case .fail: 1
        case .bug: 2
        case .stopped: 3
        }
    }

    /// A FAIL or a BUG: an outcome with a schedule worth replaying.
    public var isFailure: Bool {
        switch self {
        case .fail, .bug: true
        case .pass, .stopped: false
        }
    }

    public var summary: String {
        switch self {
        case .pass: "PASS"
        case .fail(let line, let expected, let got): "FAIL line \(line): expected \(expected), got \(got)"
        case .bug(let f): f.description
        case .stopped(let reached): "STOPPED: \(reached.description)"
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
    /// Steps and quiescent points the per-step audit checked (fewer than the steps when
    /// `auditFromDecision` let it skip a prefix already audited).
    public var auditedSteps = 0
    /// With `hashState`: a hash over every step of the kernel's state (page counters, each
    /// process's map and pmap sizes), so two runs can be compared step for step.
    public var stateHash: UInt64 = 0
    /// The schedule's steps, when asked for (`--trace`) or when the run found a BUG.
    public var trace: [String]
    /// The same schedule as per-thread columns (with `trace`).
    public var timeline: Timeline?
    /// `uvm show`: the state at each moment of `RunOptions.showAt`, nil for one never reached.
    public var snapshots: [StateSnapshot?] = []

    /// The first snapshot as `uvm show` prints it.
    public var state: String? { snapshots.first.flatMap { $0 }.map(Show.render) }
}

/// Replay tokens: "t1", the strategy and seed that found the schedule ("-r17" random, "-p17"
/// PCT, "-d" DFS, "-f" file order, "-x" a replay), ".", one base-36 digit per scheduling choice
/// (a choice of 36 or more, among that many runnable threads, is written in decimal between
/// braces: "{40}"), then "." and eight hex digits: the fingerprint of what the schedule was
/// found on (the scenario's statements, the policy in force, whether the audit ran at every
/// step), so a token is refused where it would replay silently into something else. Tokens
/// printed before fingerprints existed have none and are replayed unchecked.
/// docs/replay-tokens.md describes the format.
public enum ReplayToken {
    private static let digits = Array("0123456789abcdefghijklmnopqrstuvwxyz")

    public struct Parsed: Sendable, Equatable {
        public var choices: [Int]
        public var origin: String
        public var fingerprint: String?
    }

    public static func encode(_ choices: [Int], origin: String = "", fingerprint: String? = nil) -> String {
        var text = "t1" + (origin.isEmpty ? "" : "-" + origin) + "."
        for c in choices {
            if c < digits.count { text.append(digits[c]) } else { text += "{\(c)}" }
        }
        return text + (fingerprint.map { "." + $0 } ?? "")
    }

    public static func decode(_ token: String) -> [Int]? { parse(token)?.choices }

    public static func parse(_ token: String) -> Parsed? {
        let parts = token.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] == "t1" || parts[0].hasPrefix("t1-") else { return nil }
        var fingerprint: String?
        if parts.count == 3 {
            guard parts[2].count == 8, parts[2].allSatisfy(\.isHexDigit) else { return nil }
            fingerprint = String(parts[2]).lowercased()
        }
        var out: [Int] = []
        var rest = parts[1]
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
        return Parsed(choices: out, origin: String(parts[0].dropFirst(3)), fingerprint: fingerprint)
    }

    /// Eight hex digits of FNV-1a over what a schedule is a schedule of: the scenario's
    /// statements as written (comments, blank lines, spacing and `policy` lines left out, so a
    /// reproducer with a header of comments, or its policy moved into the file, keeps its token),
    /// the policy in force, and whether the audit runs at every step (which changes what a run
    /// detects, and where).
    public static func fingerprint(_ scenario: Scenario, source: String, options: RunOptions) -> String {
        fingerprint(scenario, lines: sourceLines(source), options: options)
    }

    static func fingerprint(_ scenario: Scenario, lines: [String], options: RunOptions) -> String {
        // Fed byte by byte, with no string built: every run of an exploration pays for this.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func feed(_ byte: UInt8) { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        func feed(_ text: String) {
            for byte in text.utf8 { feed(byte) }
            feed(UInt8(ascii: "\n"))
        }
        /// The line's words, one space apart, up to its comment.
        func feedLine(_ line: Int) {
            if line >= 1 && line <= lines.count {
                var inWord = false, afterWord = false
                for byte in lines[line - 1].utf8 {
                    if byte == UInt8(ascii: "#") { break }
                    if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r") {
                        inWord = false
                        continue
                    }
                    if !inWord && afterWord { feed(UInt8(ascii: " ")) }
                    inWord = true
                    afterWord = true
                    feed(byte)
                }
            }
            feed(UInt8(ascii: "\n"))
        }
        for st in scenario.statements {
            switch st.kind {
            case .policy: continue
            case .together(let ops):
                feed("together")
                for op in ops { feedLine(op.location.line) }
                feed("end")
            default: feedLine(st.location.line)
            }
        }
        for knob in ScenarioRunner.policy(scenario, overrides: options.policy).description { feed(knob) }
        feed(options.auditEveryStep ? "audit" : "no audit")
        let hex = String((h ^ (h >> 32)) & 0xffff_ffff, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// Why `token` must not be replayed on `scenario` with `options`, or nil when it fits (or
    /// carries no fingerprint to check).
    public static func misfit(_ token: Parsed, _ scenario: Scenario, source: String, options: RunOptions) -> String? {
        guard let want = token.fingerprint else { return nil }
        let here = fingerprint(scenario, source: source, options: options)
        guard want != here else { return nil }
        var flipped = options
        flipped.auditEveryStep.toggle()
        if fingerprint(scenario, source: source, options: flipped) == want {
            return "the token was made with\(options.auditEveryStep ? "out" : "") --audit; "
                + (options.auditEveryStep ? "leave it out" : "add it") + " to replay it"
        }
        return "the token was made for another scenario or policy (its fingerprint is \(want), this file with these --policy words is \(here)); replay it on the file and with the options printed beside it"
    }
}
