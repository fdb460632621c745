// The interpreter: builds the machine a scenario describes and runs its lines under the
// scheduler, checking each expectation; then every process exits and the kernel is audited.
//
// Lines outside `together` run one after another, each as its own scheduler run; a `together`
// block runs its threads' lines interleaved. Errors in the file that only show at run time (an
// unknown variable, a process that does not exist) are scenario errors, like parse errors.

import UVMCheck
import UVMCore
import UVMKernel
import UVMMachine
import UVMScenario
import UVMSched

/// A value bound to a scenario variable.
enum Value {
    case address(UInt64)
    case process(String)
    /// A vslock's handle.
    case hold(PageHold)
    /// A number, such as a shm id.
    case number(UInt64)
    /// A loan's handle.
    case loan(Loan)
}

@Sim
public final class ScenarioRunner {
    let scenario: Scenario
    let source: SourceText
    let options: RunOptions
    let sched: Scheduler
    private(set) var kernel: Kernel!
    private var vars: [String: Value] = [:]
    private var lines: [String] = []
    private var firstFail: Outcome?
    private var scenarioError: ScenarioError?
    private var kernelLWP: LWP?
    /// The scenario line each thread (by id) is executing, for snapshots.
    private var threadLines: [Int: (line: Int, text: String)] = [:]
    /// One per `options.showAt`, filled when its moment comes.
    private var snapshots: [StateSnapshot?]
    /// Whether the moment of the failure has been seen (the first thread to unwind sees it).
    private var failureNoted = false
    /// With `trace`: the schedule as the timeline shows it.
    private var timeline: [Timeline.Event] = []
    private var lastStepThread: SimThread?
    /// Threads the timeline shows asleep, until they next run.
    private var sleeping: Set<Int> = []
    /// What every byte should hold (UVMCheck's reference model).
    private(set) var model: ReferenceModel!
    /// The limit of `options.limits` that ended the run, when one did.
    private var stopped: LimitReached?
    /// Steps between two looks at the clock for `options.limits`.
    private let limitCheckInterval: Int
    /// When `options.limits` was last checked: at most every `limitCheckPeriod`, so a memory
    /// ceiling costs a read of /proc/self/statm that often, whatever a step costs.
    private var limitsCheckedAt = ContinuousClock.now

    /// Steps between two looks at the clock inside a run: every few thousand steps costs nothing
    /// a run would notice, and even a debug build gets there within milliseconds. With the audit
    /// at every step, every step: the audit walks the whole machine, so on one of many pages a
    /// step takes milliseconds and a clock read is nothing beside it.
    public nonisolated static let limitCheckInterval = 4096
    static let limitCheckPeriod = Duration.milliseconds(10)

    init(_ scenario: Scenario, source: String, options: RunOptions) {
        self.scenario = scenario
        self.source = SourceText.of(source)
        self.options = options
        snapshots = options.showState ? Array(repeating: nil, count: options.showAt.count) : []
        let strategy: any ScheduleStrategy
        if let replay = options.replay {
            strategy = ReplayStrategy(choices: replay)
        } else if let dfs = options.dfs {
            strategy = DFSStrategy(prefix: dfs.prefix, log: dfs.log)
        } else if options.seed == 0 {
            strategy = FileOrderStrategy()
        } else if let pct = options.pct {
            strategy = PCTStrategy(seed: options.seed, depth: pct.depth, steps: pct.steps)
        } else {
            strategy = RandomStrategy(seed: options.seed)
        }
        sched = Scheduler(strategy: strategy)
        sched.recordTrace = options.trace
        limitCheckInterval = options.auditEveryStep ? 1 : Self.limitCheckInterval
    }

    /// Runs `scenario` (whose text is `source`) once. Throws only for errors in the scenario.
    public static func run(_ scenario: Scenario, source: String, options: RunOptions) async throws(ScenarioError) -> RunReport {
        let runner = ScenarioRunner(scenario, source: source, options: options)
        return try await runner.execute()
    }

    private func execute() async throws(ScenarioError) -> RunReport {
        try Preflight.check(scenario, policyOverrides: options.policy)
        kernel = Kernel(sched: sched, config: try machineConfig())
        model = ReferenceModel(pageSize: kernel.pageSize)
        kernel.uvm.policy = Self.policy(scenario, overrides: options.policy)
        if options.trace {
            kernel.uvm.mem.historyContext = { [unowned sched = sched] in "step \(sched.steps), \(sched.current?.name ?? "-")" }
        }
        installHooks()
        return report(try await runStatements())
    }

    private func installHooks() {
        let k = kernel!
        let every = options.auditEveryStep
        let watchSteps = options.showAt.contains { if case .step = $0 { true } else { false } } && options.showState
        let hashState = options.hashState
        let trace = options.trace
        let limited = !options.limits.isNone
        if every || watchSteps || hashState || trace || limited {
            // The scheduler belongs to the kernel: a strong `k` here would keep every run's
            // machine alive after it ended.
            sched.stepHook = { [unowned self, unowned k] in
                if limited, let stop = self.checkLimits() { return stop }
                if watchSteps { self.capture(.step(self.sched.steps), "after step \(self.sched.steps)") }
                if trace { self.noteStep() }
                if hashState { self.stateHash = Self.fold(self.stateHash, Self.digest(k)) }
                return every ? self.auditStep(quiescent: false) : nil
            }
        }
    }

    /// The per-step audit, from decision `options.auditFromDecision` on.
    private func auditStep(quiescent: Bool) -> KernelFailure? {
        guard sched.choices.count >= options.auditFromDecision else { return nil }
        auditedSteps += 1
        return Audit.check(kernel, quiescent: quiescent, cache: auditCache)
    }

    /// Every `limitCheckInterval` steps, whether `options.limits` has run out. The scheduler
    /// ends a run only for a failure, so a stop is one: every thread unwinds as for a BUG, and
    /// `ended(by:)` reports it as the limit it is.
    private func checkLimits() -> KernelFailure? {
        guard sched.steps % limitCheckInterval == 0 else { return nil }
        let now = ContinuousClock.now
        guard now - limitsCheckedAt >= Self.limitCheckPeriod else { return nil }
        limitsCheckedAt = now
        guard let reached = options.limits.exceeded() else { return nil }
        stopped = reached
        return KernelFailure(.invariant, "stopped: \(reached.description)")
    }

    /// The outcome of a scheduler run that ended with `failure`: a BUG, unless it was the stop.
    private func ended(by failure: KernelFailure) -> Outcome {
        if let stopped { return .stopped(stopped) }
        noteFailure()
        return .bug(failure)
    }

    // MARK: Seeing the run (read only)

    /// Takes the snapshots asked for at `moment`, once each.
    private func capture(_ moment: ShowMoment, _ description: @autoclosure () -> String) {
        guard options.showState else { return }
        for i in options.showAt.indices where options.showAt[i] == moment && snapshots[i] == nil {
            snapshots[i] = StateSnapshot.capture(kernel, moment: description(), lines: threadLines)
        }
    }

    /// The moment a run goes wrong: a BUG recorded (seen by the first thread to unwind, before
    /// anything is unwound) or a line's result or expectation not what it expects.
    private func noteFailure(_ description: @autoclosure () -> String) {
        guard !failureNoted, stopped == nil else { return }
        failureNoted = true
        capture(.outcome, description())
        guard options.trace else { return }
        // Threads that went to sleep after the last switch the timeline saw.
        for t in sched.threads where t.state == .blocked && !sleeping.contains(t.id) {
            noteSleep(t, at: timeline.last { $0.thread == t.id }?.step ?? sched.steps)
        }
        if let f = sched.failure, let t = sched.current {
            timeline.append(.init(step: sched.steps, thread: t.id, kind: .failed(kind: f.kind.rawValue)))
        }
    }

    private func noteFailure() { noteFailure("at the failure (step \(sched.steps))") }

    /// `t` went to sleep at `step`, on what it waits for now.
    private func noteSleep(_ t: SimThread, at step: Int) {
        timeline.append(.init(step: step, thread: t.id, kind: .blocked(on: t.waitingFor?.waitDescription ?? "?",
                                                                      heldBy: t.waitingFor?.holders.map(\.name) ?? [])))
        sleeping.insert(t.id)
    }

    /// The timeline's view of a step: who ran, and, when another thread ran before, whether that
    /// one went to sleep or was preempted.
    private func noteStep() {
        guard let me = sched.current, let step = sched.trace.last else { return }
        if let last = lastStepThread, last !== me, let at = timeline.last?.step {
            switch last.state {
            case .blocked:
                noteSleep(last, at: at)
            case .runnable:
                timeline.append(.init(step: at, thread: last.id, kind: .preempted(by: me.name)))
            case .idle, .finished:
                break
            }
        }
        if sleeping.remove(me.id) != nil { timeline.append(.init(step: step.step, thread: me.id, kind: .resumed)) }
        // The switch point before a line is the line's own row (`begin`, at the same step).
        if step.reason != .preempt {
            timeline.append(.init(step: step.step, thread: me.id, kind: .step(reason: Timeline.words(step.reason), note: step.note)))
        }
        lastStepThread = me
    }

    private var stateHash: UInt64 = 0xcbf2_9ce4_8422_2325
    /// What the per-step audit of this run found right and need not walk again while unchanged.
    private let auditCache = AuditCache()
    /// Steps and quiescent points the per-step audit checked.
    private var auditedSteps = 0

    private static func fold(_ h: UInt64, _ v: UInt64) -> UInt64 { (h ^ v) &* 0x100_0000_01b3 }

    /// A cheap digest of the kernel's state: page counters and each process's map and pmap.
    private static func digest(_ k: Kernel) -> UInt64 {
        let m = k.uvm.mem
        var h = fold(fold(UInt64(m.freeCount), UInt64(m.wiredCount)), UInt64(k.uvm.swap.usedSlots))
        for p in k.procs where !p.exited {
            h = fold(h, UInt64(p.map.entries.count))
            h = fold(h, UInt64(p.map.pmap.count))
        }
        return h
    }

    private func runStatements() async throws(ScenarioError) -> Outcome {
        for st in scenario.statements {
            switch st.kind {
            case .machine, .policy:
                continue
            case .file(let name, let size, let fill, let badPage):
                // A second declaration would replace the first silently: the file's pages and
                // every mapping of it would change behind the lines that named the first.
                guard kernel.files[name] == nil else {
                    throw ScenarioError(location: st.location, message: "expected a new file name, '\(name)' is already a file")
                }
                let b = try bytes(size, st.location)
                kernel.createFile(name: name, size: b, fill: fill)
                kernel.files[name]!.badBlock = badPage
                model.file(name, size: b, fill: fill)
            case .device(let name, let pattern):
                guard kernel.devices[name] == nil else {
                    throw ScenarioError(location: st.location, message: "expected a new device name, '\(name)' is already a device")
                }
                kernel.createDevice(name: name, pattern: pattern)
                model.device(name, pattern: pattern)
            case .proc(let name, let uid, let memlock):
                try checkNewName(name, st.location)
                var limit = UInt64(kernel.config.pageCount * kernel.pageSize / 3)
                if let memlock { limit = try bytes(memlock, st.location) }
                kernel.createProc(name: name, uid: uid, memlockLimit: limit)
            case .thread(let name, let procName):
                try checkNewName(name, st.location)
                guard let p = kernel.proc(named: procName), !p.exited else {
                    throw ScenarioError(location: st.location, message: "expected an existing process after 'in', found '\(procName)'")
                }
                kernel.addLWP(name: name, to: p)
            case .operation(let op):
                if let stop = try await runBlock([op]) { return stop }
            case .together(let ops):
                model.racing = true
                let stop = try await runBlock(ops)
                model.racing = false
                if let stop { return stop }
            case .expect(let e):
                try evaluate(e)
                if let f = firstFail { return f }
            }
            if options.auditEveryStep, let f = auditStep(quiescent: true) {
                noteFailure("between lines, after step \(sched.steps)")
                return .bug(f)
            }
        }
        // The end of every run: all processes exit, file caches are dropped, and the kernel
        // must be empty again.
        let k = kernel!
        capture(.outcome, "at the end of the scenario, before the final exits (step \(sched.steps))")
        let klwp = kernelThread()
        let exitAll: () async throws -> Void = { [unowned self] in
            let what = "the final exits of every process"
            self.threadLines[klwp.thread.id] = (0, what)
            if self.options.trace { self.timeline.append(.init(step: self.sched.steps, thread: klwp.thread.id, kind: .begin(line: 0, text: what))) }
            do {
                try await self.kernel.shutdown(on: klwp)
            } catch {
                self.noteFailure()
                throw error
            }
        }
        if let f = await sched.run([(klwp.thread, exitAll)]) { return ended(by: f) }
        if let f = Audit.checkEmpty(k) {
            noteFailure("after the final exits (step \(sched.steps))")
            return .bug(f)
        }
        return .pass
    }

    /// Runs operations under the scheduler: one thread per actor, each running its lines in order.
    /// Returns the outcome that stops the scenario, if any.
    private func runBlock(_ ops: [Operation]) async throws(ScenarioError) -> Outcome? {
        var order: [String] = []
        var perActor: [String: [Operation]] = [:]
        for op in ops {
            if perActor[op.actor] == nil { order.append(op.actor) }
            perActor[op.actor, default: []].append(op)
        }
        var work: [(SimThread, () async throws -> Void)] = []
        for actor in order {
            let lwp = try self.lwp(actor, perActor[actor]![0].location)
            let mine = perActor[actor]!
            work.append((lwp.thread, { [unowned self] in
                for op in mine { try await self.perform(op, on: lwp) }
            }))
        }
        let failure = await sched.run(work)
        if let e = scenarioError { throw e }
        if let failure { return ended(by: failure) }
        return firstFail
    }

    // MARK: Operations

    private func perform(_ op: Operation, on lwp: LWP) async throws {
        let line = op.location.line
        try await sched.switchPoint(.preempt, "line \(line)")
        threadLines[lwp.thread.id] = (line, sourceText(line))
        capture(.beforeLine(line), "just before line \(line) first runs (step \(sched.steps))")
        if options.trace { timeline.append(.init(step: sched.steps, thread: lwp.thread.id, kind: .begin(line: line, text: sourceText(line)))) }
        options.beforeOperation?(kernel, line)
        let result: String
        do {
            result = try await Operations.perform(op.command, binding: op.binding, at: op.location, on: lwp, runner: self)
        } catch let e as Errno {
            result = e.name
        } catch let s as Signal {
            result = s.rawValue
        } catch let e as ScenarioError {
            scenarioError = e
            throw sched.abort(KernelFailure(.invariant, "scenario error"))
        } catch let e as SimAbort {
            noteFailure()
            throw e
        } catch {
            // Every failure of a system call is an errno or a signal; anything else is a bug.
            let abort = sched.abort(KernelFailure(.panic, "line \(line): unexpected kernel error \(error)"))
            noteFailure()
            throw abort
        }
        if !lwp.thread.heldLocks.isEmpty {
            let abort = sched.abort(KernelFailure(.invariant, "\(lwp.name) returned from line \(line) holding \(lwp.thread.heldLocks.map { $0.lockName }.joined(separator: ", "))"))
            noteFailure()
            throw abort
        }
        lines.append("\(line): \(sourceText(line)) -> \(result)")
        let failed = op.expected.map { expected in !expected.contains { Self.matches(result, $0) } } ?? false
        if options.trace { timeline.append(.init(step: sched.steps, thread: lwp.thread.id, kind: .end(line: line, result: result, failed: failed))) }
        if failed, firstFail == nil, let expected = op.expected {
            firstFail = .fail(line: line, expected: expected.map(Self.render).joined(separator: "|"), got: result)
            noteFailure("when line \(line) returned \(result) (step \(sched.steps))")
        }
        threadLines[lwp.thread.id] = nil
    }

    static func matches(_ result: String, _ e: ExpectedResult) -> Bool {
        switch e {
        case .ok: result == "ok"
        case .errno(let n): result == n
        case .signal(let s): result == s
        case .byte(let b): result == byteString(b)
        case .bits(let s): result == s
        case .value(let v): result == v || UInt64(hexOrDecimal: result).map { $0 == UInt64(hexOrDecimal: v) } == true
        }
    }

    static func render(_ e: ExpectedResult) -> String {
        switch e {
        case .ok: "ok"
        case .errno(let n), .signal(let n), .bits(let n), .value(let n): n
        case .byte(let b): byteString(b)
        }
    }

    private func sourceText(_ line: Int) -> String {
        line >= 1 && line <= source.printed.count ? source.printed[line - 1] : ""
    }

    // MARK: Expectations (checked between operations, when no thread runs)

    private func evaluate(_ e: UVMScenario.Expectation) throws(ScenarioError) {
        let mem = kernel.uvm.mem
        let ps = UInt64(kernel.pageSize)
        capture(.beforeLine(e.location.line), "just before the expect of line \(e.location.line) (after step \(sched.steps))")
        func expectEqual(_ what: String, _ expected: String, _ got: String) {
            // The whole line, as an operation is echoed: a range's address and length included.
            lines.append("\(e.location.line): \(sourceText(e.location.line)) -> \(got)")
            if expected != got && firstFail == nil {
                firstFail = .fail(line: e.location.line, expected: "\(what) = \(expected)", got: got)
                noteFailure("at the expect of line \(e.location.line) (after step \(sched.steps))")
            }
        }
        func pages(_ s: Size) throws(ScenarioError) -> String { "\(try bytes(s, e.location) / ps)p" }
        switch e.kind {
        case .wired(let procName, let size):
            if let procName {
                let p = try proc(procName, e.location)
                expectEqual("wired \(procName)", try pages(size), "\(Accounting.wiredPages(p, kernel))p")
            } else {
                expectEqual("wired", try pages(size), "\(mem.wiredCount)p")
            }
        case .free(let size):
            expectEqual("free", try pages(size), "\(mem.freeCount)p")
        case .resident(let procName, let addr, let size, let bits):
            let p = try proc(procName, e.location)
            let lo = try address(addr) & ~(ps - 1)
            let length = try bytes(size, e.location)
            let n = length / ps + (length % ps == 0 ? 0 : 1)
            // One digit per page: a range of another length can never match, and is only
            // known to be wrong now that the page size is.
            guard n == UInt64(bits.count) else {
                throw ScenarioError(location: e.location, message: "expected one digit per page: the range has \(n) pages, found \(bits.count) digits")
            }
            let got = (0..<n).map { i -> String in
                guard case (let va, false) = lo.addingReportingOverflow(i * ps), let entry = p.map.lookup(va) else { return "0" }
                let resident = entry.isDevice || Accounting.residentPages(entry, kernel)[Int((va - entry.start) / ps)] != nil
                return resident ? "1" : "0"
            }.joined()
            expectEqual("resident \(procName)", bits, got)
        case .device(let name, let byte):
            guard let dev = kernel.devices[name] else {
                throw ScenarioError(location: e.location, message: "expected an existing device, found '\(name)'")
            }
            let got = dev.received.isEmpty ? "nothing" : (dev.received.allSatisfy { $0 == dev.received[0] } ? byteString(dev.received[0]) : "mixed bytes")
            expectEqual("device \(name)", byteString(byte), got)
        case .locked(let procName, let addr, let size, let yes):
            let p = try proc(procName, e.location)
            let start = try address(addr)
            let lo = start & ~(ps - 1)
            // A range whose last page would reach past 2^64 is not mapped, let alone locked.
            let end = start.addingReportingOverflow(try bytes(size, e.location))
            let roundedEnd = end.partialValue.addingReportingOverflow(ps - 1)
            let hi = roundedEnd.partialValue & ~(ps - 1)
            let locked = !end.overflow && !roundedEnd.overflow && !p.exited
                && p.map.isFullyMapped(lo, hi) && p.map.entries(in: lo, hi).allSatisfy(\.userWired)
            expectEqual("locked \(procName)", yes ? "yes" : "no", locked ? "yes" : "no")
        }
    }

    // MARK: Names and values

    func lwp(_ name: String, _ loc: SourceLocation) throws(ScenarioError) -> LWP {
        if name == "kernel" { return kernelThread() }
        guard let l = kernel.lwps[name] else {
            throw ScenarioError(location: loc, message: "expected a thread or process name before ':', found '\(name)'")
        }
        return l
    }

    private func kernelThread() -> LWP {
        if let k = kernelLWP { return k }
        let k = kernel.addLWP(name: "kernel", to: nil)
        kernelLWP = k
        return k
    }

    func proc(_ name: String, _ loc: SourceLocation) throws(ScenarioError) -> Proc {
        guard let p = kernel.proc(named: name) else {
            throw ScenarioError(location: loc, message: "expected a process name, found '\(name)'")
        }
        return p
    }

    func checkNewName(_ name: String, _ loc: SourceLocation) throws(ScenarioError) {
        if kernel.lwps[name] != nil || vars[name] != nil {
            throw ScenarioError(location: loc, message: "expected a new name, '\(name)' is already in use")
        }
    }

    func bind(_ name: String, _ v: Value, _ loc: SourceLocation) throws(ScenarioError) {
        if case .process = v { vars[name] = v; return }
        if kernel.lwps[name] != nil {
            throw ScenarioError(location: loc, message: "expected a variable name, '\(name)' names a thread")
        }
        vars[name] = v
    }

    /// A load's byte against the model: a known byte that differs is data loss.
    func compare(_ p: String, _ va: UInt64, got: UInt8, line: Int) throws {
        guard !model.racing, let want = model.read(p, va), want != got else { return }
        throw sched.abort(KernelFailure(.dataLoss, "line \(line): \(p) reads \(byteString(got)) at \(hex(va)), where \(byteString(want)) was written",
                                        details: ["the reference model of \(p)'s memory holds \(byteString(want)) there"]))
    }

    func hold(_ name: String, _ loc: SourceLocation) throws(ScenarioError) -> PageHold {
        guard case .hold(let h)? = vars[name] else {
            throw ScenarioError(location: loc, message: "expected a handle bound by vslock, found '\(name)'")
        }
        return h
    }

    func loan(_ name: String, _ loc: SourceLocation) throws(ScenarioError) -> Loan {
        guard case .loan(let l)? = vars[name] else {
            throw ScenarioError(location: loc, message: "expected a handle bound by loan, found '\(name)'")
        }
        return l
    }

    /// A shm id: a variable bound by shmget, or a literal number, which passes as NetBSD's
    /// system calls take it, an `int` (sys_shmat's `shmid`): the low 32 bits, so that 2⁶⁴−1 is
    /// -1 and EINVAL, as the real call answers.
    func number(_ text: String, _ loc: SourceLocation) throws(ScenarioError) -> Int {
        if case .number(let n)? = vars[text] { return Int(n) }
        if let n = UInt64(hexOrDecimal: text) { return Int(Int32(truncatingIfNeeded: n)) }
        throw ScenarioError(location: loc, message: "expected a shm id (a variable bound by shmget, or a number), found '\(text)'")
    }

    func bytes(_ s: Size, _ loc: SourceLocation) throws(ScenarioError) -> UInt64 {
        guard let b = s.bytes(pageSize: UInt64(kernel?.pageSize ?? 4096)) else {
            throw ScenarioError(location: loc, message: "expected a size that fits in 64 bits")
        }
        return b
    }

    func address(_ a: Address) throws(ScenarioError) -> UInt64 {
        let base: UInt64
        switch a.base {
        case .literal(let v):
            base = v
        case .variable(let name):
            guard case .address(let v)? = vars[name] else {
                throw ScenarioError(location: a.location, message: "expected an address variable bound by mmap or shmat, found '\(name)'")
            }
            base = v
        }
        guard let v = a.applyingOffsets(to: base, pageSize: UInt64(kernel.pageSize)) else {
            throw ScenarioError(location: a.location, message: "expected an address inside 64 bits")
        }
        return v
    }

    /// The file's policy lines in order, then the command line's overrides (Preflight has
    /// checked them all).
    nonisolated static func policy(_ scenario: Scenario, overrides: [(knob: String, value: String)]) -> Policy {
        var p = Policy()
        for st in scenario.statements {
            if case .policy(let knob, let value) = st.kind { try? p.set(knob, value) }
        }
        for (knob, value) in overrides { try? p.set(knob, value) }
        return p
    }

    /// The machine the `machine` lines describe. Several lines are one description: each option
    /// takes the last value given, and an error names the line that gave the value at fault.
    private func machineConfig() throws(ScenarioError) -> MachineConfig {
        var ram, pageSize, swap, wiredMax: (size: Size, at: SourceLocation)?
        var shmSeg: (count: UInt64, at: SourceLocation)?
        var lastLine: SourceLocation?
        for st in scenario.statements {
            guard case .machine(let r, let ps, let sw, let wm, let seg) = st.kind else { continue }
            let at = st.location
            lastLine = at
            if let r { ram = (r, at) }
            if let ps { pageSize = (ps, at) }
            if let sw { swap = (sw, at) }
            if let wm { wiredMax = (wm, at) }
            if let seg { shmSeg = (seg, at) }
        }
        guard let lastLine else { return MachineConfig() }
        var ps: UInt64 = 4096
        if let pageSize {
            guard let b = pageSize.size.unit == .pages ? nil : pageSize.size.bytes(pageSize: 0),
                  b >= 512, b <= 1 << 20, b & (b - 1) == 0 else {
                throw ScenarioError(location: pageSize.at, message: "expected pagesize to be a power of two from 512 to 1M (and not in pages)")
            }
            ps = b
        }
        // A physical page becomes a structure of the host when first allocated (the page array
        // grows to a high-water mark), and swap slots cost nothing until used: the limits keep
        // frame numbers and byte counts well inside 64 bits.
        func pages(_ s: (size: Size, at: SourceLocation)?, _ what: String) throws(ScenarioError) -> Int? {
            guard let s else { return nil }
            guard let b = s.size.bytes(pageSize: ps), b / ps <= 1 << 32 else {
                throw ScenarioError(location: s.at, message: "expected \(what) of at most 4G pages")
            }
            return Int(b / ps)
        }
        let ramPages = try pages(ram, "ram") ?? 256
        guard ramPages >= 4 else { throw ScenarioError(location: ram?.at ?? lastLine, message: "expected ram of at least 4 pages") }
        var config = MachineConfig(pageCount: ramPages, pageSize: Int(ps), swapPages: try pages(swap, "swap") ?? 0,
                                   wiredMax: try pages(wiredMax, "wiredmax"))
        if let shmSeg {
            guard shmSeg.count >= 1, shmSeg.count <= MachineConfig.maxShmSeg else {
                throw ScenarioError(location: shmSeg.at, message: "expected shmseg from 1 to \(MachineConfig.maxShmSeg)")
            }
            config.shmSeg = Int(shmSeg.count)
        }
        guard config.wiredMax <= ramPages else {
            throw ScenarioError(location: wiredMax?.at ?? lastLine, message: "expected wiredmax no larger than ram")
        }
        return config
    }

    private func report(_ outcome: Outcome) -> RunReport {
        var trace: [String] = []
        if options.trace {
            trace = sched.trace.map { "step \($0.step): \(sched.threads[$0.thread].name) \($0.reason)" + ($0.note.isEmpty ? "" : " \($0.note)") }
        }
        let origin = options.replay != nil ? options.replayOrigin ?? "x" : options.dfs != nil ? "d" : options.seed == 0 ? "f"
            : (options.pct != nil ? "p" : "r") + String(options.seed)
        let token = ReplayToken.encode(sched.choices, origin: origin,
                                       fingerprint: source.fingerprint(scenario, options: options))
        return RunReport(outcome: outcome, lines: lines, token: token, steps: sched.steps,
                         decisions: sched.choices.count, threads: sched.threads.count, traceHash: sched.traceHash,
                         auditedSteps: auditedSteps, stateHash: stateHash, trace: trace,
                         timeline: options.trace ? Timeline(threads: sched.threads.map(\.name), events: timeline, outcome: outcome) : nil,
                         snapshots: snapshots)
    }
}

/// A scenario's text as the runner reads it: its lines, and each line as an operation prints it
/// (no comment, no expectation, trimmed), made once per text rather than once per run. An
/// exploration runs one text thousands of times, so the last text is kept; the same string
/// compares equal at once.
@Sim
final class SourceText {
    let text: String
    let lines: [String]
    let printed: [String]

    private static var last: SourceText?

    static func of(_ text: String) -> SourceText {
        if let last, last.text == text { return last }
        let made = SourceText(text)
        last = made
        return made
    }

    /// What a fingerprint is computed from, besides the text: the statements' lines (a block's
    /// operations between markers), the policy overrides and the audit.
    private struct FingerprintInput: Equatable {
        var lines: [Int] = []
        var policy: [String] = []
        var audit = false
    }

    /// The last fingerprint made: an exploration asks for the same one at every run.
    private var lastFingerprint: (input: FingerprintInput, value: String)?

    /// `ReplayToken.fingerprint` of `scenario` (parsed from this text) under `options`.
    func fingerprint(_ scenario: Scenario, options: RunOptions) -> String {
        var input = FingerprintInput(policy: options.policy.map { $0.knob + "=" + $0.value }, audit: options.auditEveryStep)
        for st in scenario.statements {
            input.lines.append(st.location.line)
            if case .together(let ops) = st.kind {
                input.lines.append(-1)
                input.lines += ops.map(\.location.line)
                input.lines.append(-2)
            }
        }
        if let last = lastFingerprint, last.input == input { return last.value }
        let value = ReplayToken.fingerprint(scenario, lines: lines, options: options)
        lastFingerprint = (input, value)
        return value
    }

    private init(_ text: String) {
        self.text = text
        lines = sourceLines(text)
        printed = lines.map { line in
            let code = line.prefix { $0 != "#" }
            let text = code.range(of: "=>").map { code[..<$0.lowerBound] } ?? code
            let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
            guard let first = text.firstIndex(where: { !blank($0) }), let last = text.lastIndex(where: { !blank($0) }) else { return "" }
            return String(text[first...last])
        }
    }
}

/// The lines of a scenario's text, numbered as the parser numbers them. Split on Unicode scalars:
/// in a file with CRLF line ends, "\r\n" is one Character, which a split on "\n" never finds.
public func sourceLines(_ text: String) -> [String] {
    text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String(String.UnicodeScalarView($0)) }
}

func byteString(_ b: UInt8) -> String { "0x" + (b < 16 ? "0" : "") + String(b, radix: 16) }

extension UInt64 {
    init?(hexOrDecimal s: String) {
        if s.hasPrefix("0x") { self.init(s.dropFirst(2), radix: 16) } else { self.init(s) }
    }
}
