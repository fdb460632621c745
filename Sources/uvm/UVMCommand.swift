// uvm: run scenario files against the simulated UVM kernel (see docs/scenario-language.md).
// Exit codes: 0 PASS, 1 FAIL, 2 BUG, 64 usage or scenario-file error.

import ArgumentParser
import UVMRunner

@main
struct UVMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uvm",
        abstract: "A BSD-style virtual memory system under a deterministic scheduler.",
        subcommands: [Run.self, Explore.self, Replay.self, Show.self, Check.self, BenchCommand.self, Fuzz.self])
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

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "One run under one schedule.")
    @Argument(help: "The scenario file.") var file: String
    @Option(help: "Scheduling seed: 0 runs threads in file order.") var seed: UInt64 = 0
    @Option(help: "Replay this token's schedule.") var replay: String?
    @Flag(help: "Print every step of the schedule.") var trace = false
    @OptionGroup var common: Common

    func run() async throws {
        var o = try common.options()
        o.seed = seed
        o.trace = trace
        if let replay { o.replay = try Driver.decode(replay) }
        try await Driver.runOnce(file, o, json: common.json)
    }
}

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Re-run exactly the schedule of a replay token.")
    @Argument(help: "The scenario file.") var file: String
    @Argument(help: "The replay token a BUG or FAIL printed.") var token: String
    @Flag(help: "Print every step of the schedule.") var trace = false
    @OptionGroup var common: Common

    func run() async throws {
        var o = try common.options()
        o.replay = try Driver.decode(token)
        o.trace = trace
        try await Driver.runOnce(file, o, json: common.json)
    }
}

struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The state after the run, or after step N: maps and page counters.")
    @Argument(help: "The scenario file.") var file: String
    @Option(help: "Show the state after this step instead.") var step: Int?
    @Option(help: "Scheduling seed.") var seed: UInt64 = 0
    @OptionGroup var common: Common

    func run() async throws {
        var o = try common.options()
        o.seed = seed
        o.showState = true
        o.snapshotStep = step
        try await Driver.show(file, o, json: common.json)
    }
}

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the bug catalog under its historic policies and under modern.")
    @Argument(help: "The catalog directory.") var dir: String = "scenarios/catalog"
    @Option(help: "Schedules to explore under policy modern, per entry.") var modernRuns: Int = 200
    @Option(help: "At most this many schedules looking for each historic BUG.") var historicRuns: Int = 10_000
    @Option(help: "Master seeds for the time-to-find campaign (median and worst).") var seeds: Int = 1
    @OptionGroup var common: Common

    func run() async throws {
        guard modernRuns > 0, historicRuns > 0, seeds > 0 else { throw ValidationError("counts must be positive") }
        var o = CatalogOptions()
        o.policy = try common.options().policy
        o.modernRuns = modernRuns
        o.historicRuns = historicRuns
        o.masterSeeds = seeds
        let ok = try await Driver.check(dir, o, json: common.json)
        if !ok { throw ExitCode(1) }
    }
}

extension String {
    func padding(_ n: Int) -> String { count >= n ? self + " " : self + String(repeating: " ", count: n - count) }
    func leftPad(_ n: Int) -> String { String(repeating: " ", count: max(0, n - count)) + self }
}
