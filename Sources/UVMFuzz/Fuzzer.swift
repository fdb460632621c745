// The campaign: generate a scenario from each seed (or mutate one of the corpus), explore it
// over a few schedules with the audit on, keep it in the corpus if it reached new coverage,
// and for each BUG not seen before shrink it and write a reproducer that `uvm replay` runs.
// Stops at the first BUG unless told to keep going, at the time or scenario limit otherwise.

import Foundation
import UVMCore
import UVMKernel
import UVMRunner
import UVMScenario
import UVMSched

public struct FuzzOptions: Sendable {
    public var policy: [(knob: String, value: String)] = []
    public var seconds: Double?
    /// Scenarios to try (nil: until the time limit).
    public var scenarios: Int?
    public var firstSeed: UInt64 = 1
    /// Schedules per scenario.
    public var schedules = 4
    /// This process takes seeds `firstSeed + index`, `+ index + count`, ...
    public var shard = (index: 0, count: 1)
    public var keepGoing = false
    /// With `keepGoing`, stop at the first BUG of one of these kinds all the same (the knob
    /// table's "found the catalog's kind").
    public var stopKinds: Set<String> = []
    public var out = "fuzz-out"
    /// Default: `out`/corpus.
    public var corpus: String?
    /// Shrinking budget per BUG, inside the time limit.
    public var shrinkSeconds = 30.0
    /// Budget of one scenario's exploration: past it the scenario is abandoned as too costly,
    /// so that one scenario (a gigabyte filled under the per-step audit) cannot stall a campaign.
    public var scenarioSeconds = 20.0
    /// A ceiling on the process's resident set, checked between scenarios and inside each run:
    /// past it the campaign stops with what it found (`uvm fuzz --max-memory`, 512 by default there).
    public var maxResidentMegabytes: Int?
    /// Percent of scenarios mutated from the corpus rather than generated afresh.
    public var mutatePercent = 50
    /// Percent of arguments given an errno-probing value (unaligned, zero, 2^64−1, huge).
    public var probePercent = ScenarioGenerator.defaultProbePercent
    /// Makes the campaign trap when it reaches this seed, as a kernel bug that traps would:
    /// how the supervisor's recovery is tested.
    public var trapAtSeed: UInt64?
    /// Makes the worker stop at the memory ceiling when it reaches this seed after running
    /// others, as a long campaign's worker does: how the supervisor's restart is tested.
    public var ceilingAtSeed: UInt64?
    /// Called about once a second.
    public var progress: (@Sendable (FuzzStats) -> Void)?

    public init() {}

    var corpusDirectory: String { corpus ?? out + "/corpus" }
    /// The scenario this shard is running, left behind only if the process dies.
    var inFlight: String { out + "/.in-flight-\(shard.index).uvm" }

    /// `--policy K=V ...` as a command line says it.
    var policyWords: String { policy.map { " --policy \($0.knob)=\($0.value)" }.joined() }
}

public struct FuzzStats: Sendable, Codable {
    public var scenarios = 0
    public var schedules = 0
    /// Scenarios that could not run: a line that binds failed, so a later line named nothing.
    public var unrunnable = 0
    /// Scenarios whose expectation failed: the generator asserted what was not certain.
    public var generatorMistakes = 0
    /// Scenarios abandoned past `FuzzOptions.scenarioSeconds`.
    public var tooCostly = 0
    public var seconds = 0.0
    public var coverage = 0
    public var corpus = 0
    /// Distinct BUGs, by kind.
    public var bugs: [String: Int] = [:]
}

public struct Finding: Sendable, Codable {
    public var kind: String
    public var message: String
    public var signature: String
    /// The reproducer's path and the token that replays it.
    public var path: String
    public var token: String
    /// The seed whose scenario found it.
    public var seed: UInt64
    /// Whether a replay of the written file showed the same BUG kind.
    public var replays: Bool
    /// Lines of the scenario that found it, and of the reproducer (without its header).
    public var linesBefore: Int
    public var linesAfter: Int
}

public struct FuzzResult: Sendable, Codable {
    public var stats: FuzzStats
    public var findings: [Finding]
    /// Scenarios a worker was running when it died — a Swift trap in the kernel — each kept
    /// under `out` as crash-HASH.uvm.
    public var crashes: [String] = []
    /// A scenario an earlier campaign into the same directory left in flight (it was killed,
    /// or it trapped with no supervisor), kept the same way.
    public var earlierCrash: String?
    /// Why the campaign stopped before its time or scenario limit, other than a BUG: the
    /// memory ceiling ("resident set 530 MB past the 512 MB ceiling").
    public var stoppedBy: String?
}

@Sim
public final class Fuzzer {
    let options: FuzzOptions
    let trial: Trial
    private var coverage = Coverage()
    private var corpus: [String] = []
    private var signatures: Set<String> = []
    private var stats = FuzzStats()
    private var findings: [Finding] = []
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant
    /// The limit that stopped a run of the last scenario, ending the campaign.
    private var stopped: LimitReached?

    init(_ options: FuzzOptions) {
        self.options = options
        trial = Trial(policy: options.policy,
                      limits: ResourceLimits(seconds: options.seconds, maxResidentMegabytes: options.maxResidentMegabytes),
                      scenarioSeconds: options.scenarioSeconds)
        start = clock.now
    }

    public static func run(_ options: FuzzOptions) async throws(FuzzError) -> FuzzResult {
        let fuzzer = Fuzzer(options)
        return try await fuzzer.campaign()
    }

    private func elapsed() -> Double { (clock.now - start).seconds }

    private func campaign() async throws(FuzzError) -> FuzzResult {
        try FuzzFiles.ensureDirectory(options.out)
        try FuzzFiles.ensureDirectory(options.corpusDirectory)
        let crash = try Self.keepCrashedScenario(options)
        for (_, text) in FuzzFiles.scenarios(in: options.out) {
            if let s = FuzzFiles.header("signature", in: text) { signatures.insert(s) }
        }
        for (_, text) in FuzzFiles.scenarios(in: options.corpusDirectory) {
            corpus.append(text)
            coverage.merge(await trial.explore(text, seed: 1, schedules: options.schedules).coverage)
        }
        var seed = options.firstSeed &+ UInt64(options.shard.index)
        var lastProgress = clock.now
        var stoppedBy: String?
        while true {
            if let limit = options.scenarios, stats.scenarios >= limit { break }
            let simulatedCeiling = seed == options.ceilingAtSeed && stats.scenarios > 0
            if let reached = stopped ?? trial.limits.exceeded() ?? (simulatedCeiling ? .memory(residentBytes: 0, ceiling: 0) : nil) {
                // Running out of time is the campaign's planned end; the memory ceiling is not.
                if case .memory = reached { stoppedBy = reached.description }
                break
            }
            if let progress = options.progress, clock.now - lastProgress >= .seconds(1) {
                lastProgress = clock.now
                progress(snapshot())
            }
            let (text, mutant) = scenario(seed)
            if try await fuzz(text, seed: seed, mutant: mutant),
               !options.keepGoing || options.stopKinds.contains(findings.last?.kind ?? "") { break }
            seed &+= UInt64(max(options.shard.count, 1))
        }
        try? FileManager.default.removeItem(atPath: options.inFlight)
        return FuzzResult(stats: snapshot(), findings: findings, earlierCrash: crash?.path, stoppedBy: stoppedBy)
    }

    private func snapshot() -> FuzzStats {
        var s = stats
        s.seconds = elapsed()
        s.coverage = coverage.count
        s.corpus = corpus.count
        return s
    }

    /// The scenario of `seed`: generated, or (half the time, once there is a corpus) a
    /// mutation of a corpus entry, both chosen from the seed alone; and whether it is a mutant.
    func scenario(_ seed: UInt64) -> (String, Bool) {
        var choices = Choices(seed: seed &* 0x2545_f491_4f6c_dd1d)
        guard !corpus.isEmpty, choices.percent(options.mutatePercent) else {
            return (ScenarioGenerator.scenario(seed: seed, probePercent: options.probePercent), false)
        }
        var mutator = Mutator(choices: choices, probePercent: options.probePercent)
        return (mutator.mutate(choices.pick(corpus), other: choices.pick(corpus)), true)
    }

    /// Explores one scenario; returns whether it found a BUG not seen before.
    private func fuzz(_ text: String, seed: UInt64, mutant: Bool) async throws(FuzzError) -> Bool {
        // Left behind only if the kernel traps: the next campaign keeps it as a reproducer.
        _ = FileManager.default.createFile(atPath: options.inFlight, contents: Data(("# uvm fuzz: seed \(seed)\(options.policyWords)\n" + text).utf8))
        if seed == options.trapAtSeed { fatalError("uvm fuzz --trap-at-seed \(seed)") }
        let result = await trial.explore(text, seed: seed, schedules: options.schedules)
        if let reached = result.stopped {
            stopped = reached
            return false
        }
        stats.scenarios += 1
        stats.schedules += result.schedules
        if result.scenarioError != nil { stats.unrunnable += 1 }
        if result.tooCostly { stats.tooCostly += 1 }
        if result.failed != nil { stats.generatorMistakes += 1 }
        if result.coverage.isNew(in: coverage), result.scenarioError == nil {
            coverage.merge(result.coverage)
            corpus.append(text)
            try FuzzFiles.writeAtomically(text, to: options.corpusDirectory + "/\(FuzzFiles.hash(text)).uvm")
        }
        guard let (report, failure, signature) = result.bug else { return false }
        guard signatures.insert(signature).inserted else { return false }
        stats.bugs[failure.kind.rawValue, default: 0] += 1
        // The command that generates and explores the same scenario again (from an empty corpus).
        let probes = options.probePercent == ScenarioGenerator.defaultProbePercent ? "" : " --probes \(options.probePercent)"
        let origin = (mutant ? "a mutant of a corpus scenario, at " : "") + "uvm fuzz --seed \(seed) --runs 1 --schedules \(options.schedules)"
            + probes + options.policyWords + (mutant ? "" : " --out EMPTY-DIR")
        findings.append(try await reproduce(text, report: report, signature: signature, seed: seed, origin: origin))
        return true
    }

    /// Shrinks the scenario, writes it with its header under `out`, and replays the written file.
    private func reproduce(_ text: String, report: RunReport, signature: String, seed: UInt64,
                           origin: String) async throws(FuzzError) -> Finding {
        guard case .bug(let failure) = report.outcome else { preconditionFailure("reproduce is only called for a BUG") }
        var budget = options.shrinkSeconds
        // A campaign that looks for given kinds (the knob table's) spends its time on those: a
        // BUG of another kind is written as found, unshrunk.
        if !options.stopKinds.isEmpty && !options.stopKinds.contains(failure.kind.rawValue) { budget = 0 }
        if let limit = options.seconds { budget = min(budget, max(1, limit - elapsed())) }
        let shrinker = ScriptShrinker(trial: trial, budget: .milliseconds(Int(budget * 1000)))
        let shrunk = await shrinker.shrink(text, failing: report, signature: signature, seed: seed)
        guard case .bug(let found) = shrunk.report.outcome else { preconditionFailure("the shrinker keeps only failing runs") }
        let path = options.out + "/\(failure.kind.rawValue)-\(FuzzFiles.hash(signature).prefix(8)).uvm"
        let written = Reproducer.text(shrunk.text, failure: found, signature: signature, token: shrunk.report.token, path: path,
                                      policy: options.policy, origin: origin)
        try FuzzFiles.writeAtomically(written, to: path)
        // The replay repeats a run that already ended in the BUG (the watchdog ends a livelock's),
        // so only the memory ceiling needs to hold it: a deadline past would read as "no BUG".
        let replays = await Reproducer.replays(written, token: shrunk.report.token, kind: found.kind,
                                               limits: ResourceLimits(maxResidentBytes: trial.limits.maxResidentBytes))
        return Finding(kind: found.kind.rawValue, message: found.message, signature: signature, path: path,
                       token: shrunk.report.token, seed: seed, replays: replays, linesBefore: Script(text).lines.count,
                       linesAfter: Script(shrunk.text).lines.count)
    }

    /// A scenario a campaign left in flight died with it: kept as crash-HASH.uvm. Returns its
    /// path and the seed its header names.
    nonisolated static func keepCrashedScenario(_ options: FuzzOptions) throws(FuzzError) -> (path: String, seed: UInt64)? {
        guard let data = FileManager.default.contents(atPath: options.inFlight), let text = String(data: data, encoding: .utf8) else { return nil }
        let path = options.out + "/crash-\(FuzzFiles.hash(text).prefix(8)).uvm"
        try FuzzFiles.writeAtomically("# uvm fuzz: the campaign died (a Swift trap?) running this scenario: uvm run --audit \(path)\n" + text, to: path)
        try? FileManager.default.removeItem(atPath: options.inFlight)
        let seed = text.split(separator: "\n").first.flatMap { $0.split(separator: " ").dropFirst(4).first }.flatMap { UInt64($0) }
        return (path, seed ?? options.firstSeed)
    }
}

/// A reproducer file: the header says what it found and how to replay it; the policy is in the
/// file, so the replay needs no flags but `--audit`.
public enum Reproducer {
    static func text(_ scenario: String, failure: KernelFailure, signature: String, token: String, path: String,
                     policy: [(knob: String, value: String)], origin: String) -> String {
        var lines = Script(scenario).lines
        let machine = lines.firstIndex { Script.trimmed($0).hasPrefix("machine") }.map { $0 + 1 } ?? 0
        lines.insert(contentsOf: policy.map { "policy \($0.knob)=\($0.value)" }, at: machine)
        let header = [
            "# uvm fuzz: BUG \(failure.kind.rawValue): \(failure.message.split(separator: "\n").first ?? "")",
            "# kind: \(failure.kind.rawValue)",
            "# signature: \(signature)",
            "# found by: \(origin)",
            "# token: \(token)",
            "# replay: uvm replay \(path) \(token) --audit",
        ]
        return (header + lines).joined(separator: "\n") + "\n"
    }

    /// Whether replaying `token` on `text` (as `uvm replay --audit` does) shows a BUG of `kind`.
    @Sim
    public static func replays(_ text: String, token: String, kind: FailureKind, limits: ResourceLimits = .none) async -> Bool {
        guard let scenario = try? ScenarioParser.parse(text, file: "reproducer.uvm"), let choices = ReplayToken.decode(token) else { return false }
        var o = RunOptions()
        o.replay = choices
        o.auditEveryStep = true
        o.limits = limits
        guard let report = try? await ScenarioRunner.run(scenario, source: text, options: o),
              case .bug(let f) = report.outcome else { return false }
        return f.kind == kind
    }
}

extension FuzzOptions {
    /// What is wrong with a `--policy` override, if anything.
    public static func policyProblem(_ policy: [(knob: String, value: String)]) -> String? {
        var p = Policy()
        for (knob, value) in policy {
            do {
                try p.set(knob, value)
            } catch {
                return "no knob or value '\(knob)=\(value)' (knobs: \(Policy.knobs.map { "\($0.name)=\($0.values.joined(separator: "|"))" }.joined(separator: ", ")))"
            }
        }
        return nil
    }
}

/// The command line's rules, here so they are tested with the rest: a usage error names its flag.
public enum FuzzUsage {
    public static func problem(time: Double?, runs: Int?, schedules: Int, shrinkTime: Double, shard: String?,
                               probes: Int = ScenarioGenerator.defaultProbePercent) -> String? {
        if let time, !(time > 0) { return "--time must be a positive number of seconds, found \(time)" }
        if let runs, runs <= 0 { return "--runs must be positive, found \(runs)" }
        if schedules <= 0 { return "--schedules must be positive, found \(schedules)" }
        if !(shrinkTime >= 0) { return "--shrink-time must not be negative, found \(shrinkTime)" }
        if !(0...100).contains(probes) { return "--probes must be a percentage from 0 to 100, found \(probes)" }
        if let shard, self.shard(shard) == nil { return "--shard expects I/N with 0 <= I < N, found '\(shard)'" }
        return nil
    }

    /// `I/N`.
    public static func shard(_ s: String) -> (index: Int, count: Int)? {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 2, let i = parts[0], let n = parts[1], n > 0, i >= 0, i < n else { return nil }
        return (i, n)
    }
}

extension FuzzResult {
    /// 0 when the campaign found no BUG, 2 when it found one (as `uvm run` exits for a BUG).
    public var exitCode: Int32 { findings.isEmpty && crashes.isEmpty ? 0 : 2 }
}
