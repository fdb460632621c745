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
    @Option(help: "Schedules explored per scenario.") var schedules: Int = 6
    @Option(help: "The corpus directory (default OUT/corpus).") var corpus: String?
    @Option(help: "Where reproducers go.") var out: String = "fuzz-out"
    @Option(help: "Take shard I of N (I/N): every N-th seed.") var shard: String?
    @Option(help: "Seconds of shrinking per BUG, inside --time.") var shrinkTime: Double = 30
    @Flag(help: "Continue after a BUG, keeping one reproducer per distinct BUG.") var keepGoing = false
    @Flag(help: "Print the operation table the generator draws from, and exit.") var listOperations = false
    @Option(help: "Print the coverage a corpus directory reaches, and exit.") var coverage: String?
    @Option(parsing: .upToNextOption, help: "Merge these campaigns' reproducers and corpora into --out and --corpus, and exit.")
    var merge: [String] = []
    @OptionGroup var common: Common

    func validate() throws {
        if let time, !(time > 0) { throw ValidationError("--time must be a positive number of seconds, found \(time)") }
        if let runs, runs <= 0 { throw ValidationError("--runs must be positive, found \(runs)") }
        if schedules <= 0 { throw ValidationError("--schedules must be positive, found \(schedules)") }
        if !(shrinkTime >= 0) { throw ValidationError("--shrink-time must not be negative, found \(shrinkTime)") }
        if let shard, Self.shard(shard) == nil { throw ValidationError("--shard expects I/N with 0 <= I < N, found '\(shard)'") }
    }

    static func shard(_ s: String) -> (Int, Int)? {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 2, let i = parts[0], let n = parts[1], n > 0, i >= 0, i < n else { return nil }
        return (i, n)
    }

    func run() async throws {
        let policy = try common.options().policy
        if let problem = FuzzOptions.policyProblem(policy) { throw ValidationError("--policy: \(problem)") }
        if listOperations {
            print(OperationTable.listing())
            return
        }
        if let coverage {
            let (total, files) = await FuzzMerge.coverage(of: coverage, policy: policy, schedules: schedules)
            print("\(coverage): \(files) scenario(s), \(total.count) feature(s)")
            for (group, features) in total.summary {
                print("\(group) (\(features.count)):")
                for f in features { print("  " + f) }
            }
            return
        }
        if !merge.isEmpty {
            do {
                let counts = try FuzzMerge.merge(merge, out: out, corpus: corpus)
                print("merged \(counts.reproducers) reproducer(s) into \(out), \(counts.corpus) corpus scenario(s) into \(corpus ?? out + "/corpus")")
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
        if let shard, let s = Self.shard(shard) { o.shard = s }
        if !common.json && isatty(STDERR_FILENO) != 0 {
            o.progress = { s in
                let bugs = s.bugs.keys.sorted().map { "\($0) \(s.bugs[$0]!)" }.joined(separator: ", ")
                let rate = Double(s.scenarios) / max(s.seconds, 1e-9)
                FileHandle.standardError.write(Data(("\r\u{1B}[K\(s.scenarios) scenarios (\(Int(rate))/s, \(Int(Double(s.schedules) / max(s.seconds, 1e-9))) schedules/s), coverage \(s.coverage), corpus \(s.corpus)" + (bugs.isEmpty ? "" : ", BUGs: " + bugs)).utf8))
            }
        }
        let result: FuzzResult
        do {
            result = try await Fuzzer.run(o)
        } catch {
            throw Driver.scenarioError(error.description)
        }
        if o.progress != nil { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        let s = result.stats
        if common.json {
            let findings = result.findings.map {
                #"{"kind":\#(Driver.quote($0.kind)),"message":\#(Driver.quote($0.message)),"signature":\#(Driver.quote($0.signature)),"file":\#(Driver.quote($0.path)),"token":\#(Driver.quote($0.token)),"seed":\#($0.seed),"replays":\#($0.replays)}"#
            }
            print(#"{"scenarios":\#(s.scenarios),"schedules":\#(s.schedules),"seconds":\#(s.seconds),"unrunnable":\#(s.unrunnable),"generatorMistakes":\#(s.generatorMistakes),"coverage":\#(s.coverage),"corpus":\#(s.corpus),"findings":[\#(findings.joined(separator: ","))]}"#)
        } else {
            if let crash = result.crashReproducer { print("an earlier campaign died running a scenario, kept as \(crash)") }
            print(String(format: "%d scenarios, %d schedules in %.1f s (%.0f scenarios/min), coverage %d, corpus %d, %d unrunnable, %d generator mistakes",
                         s.scenarios, s.schedules, s.seconds, Double(s.scenarios) / max(s.seconds, 1e-9) * 60, s.coverage, s.corpus,
                         s.unrunnable, s.generatorMistakes))
            for f in result.findings {
                print("BUG \(f.kind): \(f.message)")
                print("  reproducer: \(f.path)" + (f.replays ? "" : " (its replay did NOT show the BUG again)"))
                print("  replay: uvm replay \(f.path) \(f.token) --audit")
            }
        }
        if !result.findings.isEmpty { throw ExitCode(2) }
    }
}
