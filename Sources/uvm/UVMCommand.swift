// uvm: run scenario files against the simulated UVM kernel (see docs/scenario-language.md).
// Exit codes: 0 PASS, 1 FAIL, 2 BUG, 3 STOPPED by --time or --max-memory, 64 usage or
// scenario-file error.

import ArgumentParser
import Dispatch
import UVMRunner

/// The process's entry. The main thread starts the command as a task and waits for it, rather
/// than parking in `dispatch_main`: valgrind 3.19 dies on that park's `sigsuspend` under the
/// Swift 6.3 runtime, and callgrind is how `uvm bench` counts a fault's instructions.
@main
enum Entry {
    static func main() {
        let done = DispatchSemaphore(value: 0)
        // Detached: a task would inherit the main actor, whose queue this blocked thread drains.
        Task.detached {
            await UVMCommand.main()
            done.signal()
        }
        done.wait()
    }
}

struct UVMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uvm",
        abstract: "A BSD-style virtual memory system under a deterministic scheduler.",
        version: "swift-uvm 0.1.0",
        subcommands: [Run.self, Explore.self, Replay.self, ShowCommand.self, Report.self, Check.self, BenchCommand.self, Fuzz.self])

    /// A mistyped command is named with the nearest real one ("did you mean"), instead of the
    /// parser's "unexpected arguments".
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let names = configuration.subcommands.map { $0._commandName } + ["help"]
        if let word = arguments.first, !word.hasPrefix("-"), !names.contains(word) {
            let hint = Spelling.nearest(word, among: names).map { "; did you mean '\($0)'?" }
            Driver.printError("uvm: no command '\(word)'" + (hint ?? "; the commands: \(names.joined(separator: ", "))"))
            exit(withError: ExitCode(64))
        }
        await main(nil)
    }
}

struct Common: ParsableArguments {
    @Option(name: .customLong("policy"), help: "Override a policy knob: KNOB=VALUE (repeatable).")
    var policy: [String] = []

    @Flag(help: "Print a machine-readable result.")
    var json = false

    @Flag(help: "Run the audit after every step (it always runs at the end).")
    var audit = false

    func options() throws -> RunOptions {
        Driver.json = json
        var o = RunOptions()
        o.auditEveryStep = audit
        for p in policy {
            let parts = p.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 1 && parts[0] == "modern" { o.policy.append(("modern", "")); continue }
            guard parts.count == 2 else { throw ValidationError("--policy expects KNOB=VALUE, found '\(p)'") }
            o.policy.append((parts[0], parts[1]))
        }
        return o
    }
}

/// How `run` and `replay` print the schedule.
struct TimelineOptions: ParsableArguments {
    @Flag(help: "Print the schedule as a timeline even for a PASS (a FAIL or BUG always has one).") var trace = false
    @Flag(help: "Unfold the timeline: every switch point (lock steps, I/O, wakeups), not only the lines.") var steps = false
    @Option(name: .customLong("trace-json"), help: "Write the schedule in Chrome's trace-event format to this file (opens in Perfetto).")
    var traceJSON: String?
}

/// `--time` and `--max-memory` of `run` and `replay`: the run is checked against them as it goes.
struct LimitOptions: ParsableArguments {
    @Option(help: "Stop the run (STOPPED, exit 3) after this many seconds.") var time: Double?
    @Option(help: "Stop the run (STOPPED, exit 3) once the resident set passes this many MB.") var maxMemory: Int = 512

    /// The limits, starting now; refuses values no clock or machine could mean.
    func limits() throws -> ResourceLimits {
        try Self.check(time: time, maxMemory: maxMemory)
        return ResourceLimits(seconds: time, maxResidentMegabytes: maxMemory)
    }

    static func check(time: Double?, maxMemory: Int) throws {
        if let time, !(time > 0 && time <= 1e9) { throw ValidationError("--time must be a positive number of seconds up to 1e9, found \(time)") }
        guard maxMemory > 0, maxMemory <= 1 << 40 else { throw ValidationError("--max-memory must be a positive number of MB up to 2^40, found \(maxMemory)") }
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "One run under one schedule.")
    @Argument(help: "The scenario file.") var file: String
    @Option(help: "Scheduling seed: 0 runs threads in file order.") var seed: UInt64 = 0
    @Option(help: "Replay this token's schedule.") var replay: String?
    @OptionGroup var timeline: TimelineOptions
    @OptionGroup var limits: LimitOptions
    @OptionGroup var common: Common

    func run() async throws {
        var o = try common.options()
        o.seed = seed
        o.limits = try limits.limits()
        try await Driver.runOnce(file, o, token: replay, timeline, json: common.json)
    }
}

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Re-run exactly the schedule of a replay token.")
    @Argument(help: "The scenario file.") var file: String
    @Argument(help: "The replay token a BUG or FAIL printed.") var token: String
    @OptionGroup var timeline: TimelineOptions
    @OptionGroup var limits: LimitOptions
    @OptionGroup var common: Common

    func run() async throws {
        var o = try common.options()
        o.limits = try limits.limits()
        try await Driver.runOnce(file, o, token: token, timeline, json: common.json)
    }
}

struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "The state of a run at one moment: threads, maps, amaps, each object's pages, physical pages.",
        discussion: "By default the moment of the failure (the end of the scenario for a PASS). Exits with the run's code.")
    @Argument(help: "The scenario file.") var file: String
    @Option(help: "Follow this replay token's schedule.") var replay: String?
    @Option(help: "The state after step N of the schedule.") var step: Int?
    @Option(help: "The state just before line N first runs.") var line: Int?
    @Option(parsing: .upToNextOption, help: "What changed from step N to step M (--diff N M).") var diff: [Int] = []
    @Option(help: "Scheduling seed.") var seed: UInt64 = 0
    @OptionGroup var common: Common

    func validate() throws {
        if [step != nil, line != nil, !diff.isEmpty].filter({ $0 }).count > 1 {
            throw ValidationError("--step, --line and --diff each choose the moment: give one of them")
        }
        if !diff.isEmpty && diff.count != 2 { throw ValidationError("--diff expects two steps, N and M, found \(diff.count)") }
        if let bad = (diff + [step, line].compactMap { $0 }).first(where: { $0 < 1 }) {
            throw ValidationError("steps and lines count from 1, found \(bad)")
        }
    }

    func run() async throws {
        var o = try common.options()
        o.seed = seed
        o.showState = true
        if diff.count == 2 {
            o.showAt = [.step(diff[0]), .step(diff[1])]
        } else if let step {
            o.showAt = [.step(step)]
        } else if let line {
            o.showAt = [.beforeLine(line)]
        }
        try await Driver.show(file, o, token: replay, json: common.json)
    }
}

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One run as a self-contained HTML page: the scenario, the timeline, each address space at the failure as layers.",
        discussion: "Exits 0 once the page is written, whatever the run's outcome (the page says it).")
    @Argument(help: "The scenario file.") var file: String
    @Option(help: "Follow this replay token's schedule.") var replay: String?
    @Option(help: "Scheduling seed.") var seed: UInt64 = 0
    @Option(name: .shortAndLong, help: "Where to write the page.") var output: String
    @OptionGroup var common: Common

    func run() async throws {
        var o = try common.options()
        o.seed = seed
        try await Driver.report(file, o, token: replay, to: output)
    }
}

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the bug catalog under its historic policies and under modern.")
    @Argument(help: "The catalog directory.") var dir: String = "scenarios/catalog"
    @Option(help: "Random and PCT schedules under policy modern, per entry, after the whole preemption-bounded DFS tree (at most \(CatalogOptions().dfsBudget) schedules).")
    var modernRuns: Int = CatalogOptions().modernRuns
    @Option(help: "At most this many schedules, and \(Int(CatalogOptions().historicSeconds)) s, looking for each historic BUG.")
    var historicRuns: Int = CatalogOptions().historicRuns
    @Option(help: "Master seeds for the time-to-find campaign (median and worst).") var seeds: Int = 1
    @Option(help: "Write an HTML report of each entry, its historic BUG and its modern run, and an index page, to this directory.")
    var report: String?
    @OptionGroup var common: Common

    func run() async throws {
        guard modernRuns > 0, historicRuns > 0, seeds > 0 else { throw ValidationError("counts must be positive") }
        var o = CatalogOptions()
        o.policy = try common.options().policy
        o.modernRuns = modernRuns
        o.historicRuns = historicRuns
        o.masterSeeds = seeds
        let ok = try await Driver.check(dir, o, reportDir: report, json: common.json)
        if !ok { throw ExitCode(1) }
    }
}

extension String {
    func padding(_ n: Int) -> String { count >= n ? self + " " : self + String(repeating: " ", count: n - count) }
    func leftPad(_ n: Int) -> String { String(repeating: " ", count: max(0, n - count)) + self }
}
