// `uvm fuzz`: generated workloads. See docs/fuzzing.md.

import ArgumentParser
import Foundation
import UVMFuzz
import UVMRunner

struct Fuzz: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate scenarios and explore each over a few schedules until a BUG (or the limit).")
    @Option(help: "Stop after this many seconds (default 60 unless --runs is given).") var time: Double?
    @Option(help: "Stop after this many scenarios.") var runs: Int?
    @Option(help: "The first scenario seed.") var seed: UInt64 = 1
    @Option(help: "Schedules explored per scenario.") var schedules: Int = 4
    @Option(help: "The corpus directory (default OUT/corpus).") var corpus: String?
    @Option(help: "Where reproducers go.") var out: String = "fuzz-out"
    @Option(help: "Take shard I of N (I/N): every N-th seed.") var shard: String?
    @Option(help: "Seconds of shrinking per BUG, inside --time.") var shrinkTime: Double = 30
    @Option(help: "Seconds one scenario's schedules may take; past them it is abandoned as too costly.")
    var scenarioTime: Double = 20
    @Option(help: "Percent of arguments given an errno-probing value (unaligned, zero, 2^64-1, huge).")
    var probes: Int = ScenarioGenerator.defaultProbePercent
    @Flag(help: "Continue after a BUG, keeping one reproducer per distinct BUG.") var keepGoing = false
    @Flag(help: "Print the operation table the generator draws from, and exit.") var listOperations = false
    @Flag(help: "Print the scenario --seed generates, and exit.") var printScenario = false
    @Option(help: "For every historic knob of this catalog directory, fuzz from nothing until a BUG of the entry's kind (or --time per knob, default 600), print the table, and exit.")
    var knobTable: String?
    @Option(help: "Print the coverage a corpus directory reaches, and exit.") var coverage: String?
    @Option(parsing: .upToNextOption, help: "Merge these campaigns' reproducers and corpora into --out and --corpus, and exit.")
    var merge: [String] = []
    @Option(help: "Stop cleanly, with what was found, once a worker's resident set passes this many MB.") var maxMemory: Int = 512
    @Flag(help: "Print the progress line in a log too (it is shown in place on a terminal).") var progress = false
    @Flag(help: .hidden) var worker = false
    @Option(help: .hidden) var trapAtSeed: UInt64?
    @Option(help: .hidden) var ceilingAtSeed: UInt64?
    @OptionGroup var common: Common

    func validate() throws {
        if let problem = FuzzUsage.problem(time: time, runs: runs, schedules: schedules, shrinkTime: shrinkTime, shard: shard,
                                           probes: probes) {
            throw ValidationError(problem)
        }
        guard scenarioTime > 0, scenarioTime.isFinite else {
            throw ValidationError("--scenario-time must be a positive number of seconds, found \(scenarioTime)")
        }
        guard maxMemory > 0, maxMemory <= 1 << 40 else { throw ValidationError("--max-memory must be a positive number of MB up to 2^40, found \(maxMemory)") }
    }

    func run() async throws {
        let policy = try common.options().policy
        if let problem = FuzzOptions.policyProblem(policy) { throw ValidationError("--policy: \(problem)") }
        if listOperations {
            print(OperationTable.listing())
            return
        }
        if let knobTable {
            try await KnobTablePrinter.run(catalog: knobTable, seconds: time ?? 600, seed: seed, schedules: schedules, json: common.json)
            return
        }
        if printScenario {
            print(ScenarioGenerator.scenario(seed: seed, probePercent: probes), terminator: "")
            return
        }
        if let coverage {
            let (total, files) = await FuzzMerge.coverage(of: coverage, policy: policy, schedules: schedules)
            print("\(coverage): \(files) scenario(s), \(total.count) feature(s)")
            for (group, features) in total.summary {
                print("\(group) (\(features.count)):")
                for f in features { print("  " + f) }
            }
            let unreached = total.unreachedSites
            print("sites never reached (\(unreached.count) of \(KernelSites.all.count)):")
            for site in unreached { print("  " + site) }
            return
        }
        if !merge.isEmpty {
            do {
                let counts = try FuzzMerge.merge(merge, out: out, corpus: corpus)
                print("merged \(counts.reproducers) reproducer(s) and \(counts.crashes) crash scenario(s) into \(out), "
                      + "\(counts.corpus) corpus scenario(s) into \(corpus ?? out + "/corpus")")
            } catch {
                throw Driver.scenarioError(error.description)
            }
            return
        }
        var o = FuzzOptions()
        o.policy = policy
        o.seconds = time ?? (runs == nil ? 60 : nil)
        o.scenarios = runs
        o.firstSeed = seed
        o.schedules = schedules
        o.corpus = corpus
        o.out = out
        o.keepGoing = keepGoing
        o.shrinkSeconds = shrinkTime
        o.scenarioSeconds = scenarioTime
        o.probePercent = probes
        o.maxResidentMegabytes = maxMemory
        if let shard, let s = FuzzUsage.shard(shard) { o.shard = s }
        let progressLine = ProgressLine()
        if progressLine.shown(json: common.json, asked: progress) {
            // How far through its runs or its time the campaign is, its rates, coverage, corpus
            // and BUGs so far.
            let (runs, seconds) = (o.scenarios, o.seconds)
            o.progress = { s in
                let bugs = s.bugs.keys.sorted().map { "\($0) \(s.bugs[$0]!)" }.joined(separator: ", ")
                let rate = Double(s.scenarios) / max(s.seconds, 1e-9)
                let (percent, left) = ProgressLine.share(count: s.scenarios, of: runs, elapsed: s.seconds, of: seconds)
                progressLine.show("\(percent)%: \(s.scenarios) scenarios (\(Int(rate))/s, \(Int(Double(s.schedules) / max(s.seconds, 1e-9))) schedules/s), coverage \(s.coverage), corpus \(s.corpus)"
                    + (bugs.isEmpty ? "" : ", BUGs: " + bugs) + ", about \(left) s left")
            }
        }
        o.trapAtSeed = trapAtSeed
        o.ceilingAtSeed = ceilingAtSeed
        let result: FuzzResult
        do {
            if worker {
                // The supervisor reads the result; the progress line is already on the terminal.
                let result = try await Fuzzer.run(o)
                print(Supervisor.workerOutput(result))
                return
            }
            result = try await Supervisor.run(o, executable: Self.executable, arguments: Array(CommandLine.arguments.dropFirst()))
        } catch {
            throw Driver.scenarioError(error.description)
        }
        if o.progress != nil { progressLine.clear() }
        let s = result.stats
        if common.json {
            let findings = result.findings.map {
                #"{"kind":\#(Driver.quote($0.kind)),"message":\#(Driver.quote($0.message)),"signature":\#(Driver.quote($0.signature)),"file":\#(Driver.quote($0.path)),"token":\#(Driver.quote($0.token)),"seed":\#($0.seed),"replays":\#($0.replays),"linesBefore":\#($0.linesBefore),"linesAfter":\#($0.linesAfter)}"#
            }
            let crashes = result.crashes.map(Driver.quote).joined(separator: ",")
            print(#"{"scenarios":\#(s.scenarios),"schedules":\#(s.schedules),"seconds":\#(s.seconds),"unrunnable":\#(s.unrunnable),"tooCostly":\#(s.tooCostly),"generatorMistakes":\#(s.generatorMistakes),"coverage":\#(s.coverage),"corpus":\#(s.corpus),"findings":[\#(findings.joined(separator: ","))],"crashes":[\#(crashes)]\#(result.stoppedBy.map { #","stoppedBy":"# + Driver.quote($0) } ?? "")}"#)
        } else {
            print(String(format: "%d scenarios, %d schedules in %.1f s (%.0f scenarios/min), coverage %d, corpus %d, %d unrunnable, %d too costly, %d generator mistakes",
                         s.scenarios, s.schedules, s.seconds, Double(s.scenarios) / max(s.seconds, 1e-9) * 60, s.coverage, s.corpus,
                         s.unrunnable, s.tooCostly, s.generatorMistakes))
            for f in result.findings {
                print("BUG \(f.kind): \(f.message)")
                print("  reproducer: \(f.path), shrunk from \(f.linesBefore) to \(f.linesAfter) lines"
                      + (f.replays ? "" : " (its replay did NOT show the BUG again)"))
                print("  replay: uvm replay \(f.path) \(f.token) --audit")
            }
            if let reason = result.stoppedBy { print("campaign stopped: \(reason)") }
            if let crash = result.earlierCrash { print("an earlier campaign into \(o.out) died running a scenario, kept as \(crash)") }
            for crash in result.crashes {
                print("CRASH: the kernel trapped; the scenario it was running is \(crash) (uvm run --audit \(crash) shows the trap)")
            }
        }
        if result.exitCode != 0 { throw ExitCode(result.exitCode) }
    }
}

extension Fuzz {
    /// This executable, for the supervisor to start workers from.
    static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

/// `uvm fuzz --knob-table`: prints each catalog knob's campaign (KnobTable) as it ends, then the
/// medians; exit 1 when a knob's BUG was not found in time.
enum KnobTablePrinter {
    static func run(catalog: String, seconds: Double, seed: UInt64, schedules: Int, json: Bool) async throws {
        let entries = KnobTable.entries(catalog: catalog)
        guard !entries.isEmpty else { throw Driver.scenarioError("\(catalog): no catalog entry with a historic knob") }
        var rows: [KnobTable.Row] = []
        for entry in entries {
            let row: KnobTable.Row
            do { row = try await KnobTable.campaign(for: entry, seconds: seconds, seed: seed, schedules: schedules) }
            catch { throw Driver.scenarioError(error.description) }
            rows.append(row)
            if !json {
                print(row.knobWords.padding(32) + row.kinds.joined(separator: "|").padding(16) + " "
                      + (row.finding.map { String(format: "%@ in %.1f s, %d scenarios, reproducer of %d lines", $0.kind, row.seconds, row.scenarios, $0.linesAfter) }
                         ?? String(format: "not found in %.0f s (%d scenarios)", row.seconds, row.scenarios)))
            }
        }
        let found = rows.filter { $0.finding != nil }
        let median = KnobTable.median(found.map(\.seconds))
        let medianLines = KnobTable.median(found.compactMap(\.finding?.linesAfter))
        if json {
            let items = rows.map { #"{"knobs":\#(Driver.quote($0.knobWords)),"kind":\#(Driver.quote($0.kinds.joined(separator: "|"))),"found":\#($0.finding != nil),"seconds":\#($0.seconds),"scenarios":\#($0.scenarios),"reproducerLines":\#($0.finding.map { String($0.linesAfter) } ?? "null")}"# }
            print(#"{"rows":[\#(items.joined(separator: ","))],"found":\#(found.count),"of":\#(rows.count)}"#)
        } else {
            print("\(found.count) of \(rows.count) knobs found" + (median.map { String(format: ", median %.1f s", $0) } ?? "")
                  + (medianLines.map { ", median reproducer \($0) lines" } ?? ""))
        }
        if found.count < rows.count { throw ExitCode(1) }
    }
}
