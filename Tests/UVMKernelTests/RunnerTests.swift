// The run itself: deterministic replay, FAIL reports, scenario errors at their line and column,
// and the exit codes the command line maps outcomes to.

import Testing
import UVMRunner
import UVMKernel
import UVMScenario
import UVMSched

@Suite @Sim struct RunnerTests {
    /// Two threads racing over anonymous memory and a file: many schedules are possible.
    static let racy = """
        machine ram=32p
        file f size=2p fill=0x41
        proc A
        thread T in A
        proc B
        A: a = mmap anon 2p
        B: b = mmap anon 1p
        B: fill b 1p 0x42 => ok
        together
          A: fill a 2p 0x11 => ok
          T: store a+1p 0x22 => ok
          T: load a => 0x00|0x11
          B: write f off=1p from=b len=1p => ok
          B: truncate f 1p => ok
        end
        A: load a+1p => 0x11|0x22
        """

    @Test(arguments: [1, 2, 3, 7, 42] as [UInt64])
    func sameSeedSameRun(seed: UInt64) async throws {
        let first = try await run(Self.racy, seed: seed)
        let second = try await run(Self.racy, seed: seed)
        expectPass(first)
        #expect(first.traceHash == second.traceHash)
        #expect(first.lines == second.lines)
        #expect(first.token == second.token)
        #expect(first.steps == second.steps)
    }

    @Test func seedsReachDifferentSchedules() async throws {
        var hashes = Set<UInt64>()
        for seed in 1...20 as ClosedRange<UInt64> {
            let r = try await run(Self.racy, seed: seed)
            expectPass(r)
            hashes.insert(r.traceHash)
        }
        #expect(hashes.count > 1, "twenty seeds all ran the same schedule")
    }

    @Test(arguments: [0, 5, 9, 13] as [UInt64])
    func replayingTheTokenReproducesTheRun(seed: UInt64) async throws {
        let original = try await run(Self.racy, seed: seed)
        let choices = try #require(ReplayToken.decode(original.token))
        var opts = RunOptions()
        opts.auditEveryStep = true
        opts.replay = choices
        let replayed = try await run(Self.racy, options: opts)
        #expect(replayed.traceHash == original.traceHash)
        #expect(replayed.lines == original.lines)
        #expect(replayed.outcome == original.outcome)
        // The same schedule (the token's origin says it was replayed).
        #expect(ReplayToken.decode(replayed.token) == ReplayToken.decode(original.token))
        #expect(replayed.token.hasPrefix("t1-x."))
    }

    @Test func tokensRoundTrip() {
        let choices = [0, 1, 2, 9, 10, 35]
        #expect(ReplayToken.decode(ReplayToken.encode(choices)) == choices)
        #expect(ReplayToken.encode([]) == "t1.")
        #expect(ReplayToken.decode("x1.0") == nil)
        #expect(ReplayToken.decode("t1.0!") == nil)
    }

    @Test func aWrongExpectationIsAFailAtItsLine() async throws {
        let text = """
            proc A
            A: p = mmap anon 1p
            A: store p 0x42 => ok
            A: load p => 0x43
            A: load p => 0x42
            """
        let r = try await run(text)
        #expect(r.outcome == .fail(line: 4, expected: "0x43", got: "0x42"))
        #expect(r.outcome.exitCode == 1)
        #expect(r.outcome.summary == "FAIL line 4: expected 0x43, got 0x42")
        // The run stops at the failing line.
        #expect(r.result(4) == "0x42")
        #expect(r.result(5) == nil)
    }

    @Test func aWrongSignalExpectationIsAFail() async throws {
        let r = try await run("proc A\nA: load 0x10000000 => 0x00|SIGBUS")
        #expect(r.outcome == .fail(line: 2, expected: "0x00|SIGBUS", got: "SIGSEGV"))
    }

    @Test func aWrongPageCountIsAFail() async throws {
        let text = """
            machine ram=16p
            proc A
            A: p = mmap anon 2p
            A: store p 0x01 => ok
            expect free = 16p
            """
        let r = try await run(text)
        #expect(r.outcome == .fail(line: 5, expected: "free = 16p", got: "15p"))
    }

    @Test func aFailInsideTogetherNamesItsLine() async throws {
        let text = """
            proc A
            thread T in A
            A: p = mmap anon 1p
            together
              A: store p 0x01 => ok
              T: load 0x1000 => 0x00
            end
            """
        let r = try await run(text)
        #expect(r.outcome == .fail(line: 6, expected: "0x00", got: "SIGSEGV"))
    }

    @Test func anUnknownVariableIsAScenarioErrorAtItsColumn() async throws {
        let text = "proc A\nA: p = mmap anon 1p\nA: load   bufx+1p => 0x00\n"
        do {
            let r = try await run(text)
            Issue.record("expected a scenario error, the run ended with \(r.outcome.summary)")
        } catch let e as ScenarioError {
            #expect(e.location.file == "t.uvm")
            #expect(e.location.line == 3)
            #expect(e.location.column == 11)
            #expect(e.message == "expected an address variable bound by mmap or shmat, found 'bufx'")
            #expect(e.description == "t.uvm:3:11: expected an address variable bound by mmap or shmat, found 'bufx'")
        }
    }

    @Test func anUnknownThreadIsAScenarioErrorAtItsLine() async throws {
        do {
            let r = try await run("proc A\nA: p = mmap anon 1p\nZ: load p\n")
            Issue.record("expected a scenario error, the run ended with \(r.outcome.summary)")
        } catch let e as ScenarioError {
            #expect(e.location.line == 3)
            #expect(e.message.contains("'Z'"))
        }
    }

    /// Several `machine` lines are one description: each option takes its last value, and the
    /// others keep theirs (a second line once reset every option it did not give).
    @Test func machineLinesAddUpOptionByOption() async throws {
        let r = try await run("""
            machine ram=16p
            machine wiredmax=4p
            proc A uid=0
            A: a = mmap anon 8p
            A: mlock a 5p => EAGAIN
            A: mlock a 4p => ok
            expect wired = 4p
            expect free = 12p
            """)
        #expect(r.outcome == .pass, "\(r.outcome.summary)")
    }

    /// A value at fault is named at the line that gave it.
    @Test(arguments: [("machine ram=16p\nmachine wiredmax=32p", 2), ("machine wiredmax=32p\nmachine ram=16p", 1)])
    func aMachineErrorNamesTheLineOfTheValue(text: String, line: Int) async throws {
        do {
            let r = try await run(text + "\nproc A\n")
            Issue.record("expected a scenario error, the run ended with \(r.outcome.summary)")
        } catch let e as ScenarioError {
            #expect(e.location.line == line && e.message == "expected wiredmax no larger than ram", "\(e)")
        }
    }

    /// A file or device declared twice is refused at the second declaration, as a process is
    /// (the second once replaced the first silently).
    @Test(arguments: [("file f size=1p\nfile f size=2p", "expected a new file name, 'f' is already a file"),
                      ("device d\ndevice d pattern=0x22", "expected a new device name, 'd' is already a device")])
    func aSecondDeclarationOfANameIsAnError(text: String, message: String) async throws {
        do {
            let r = try await run(text + "\nproc A\n")
            Issue.record("expected a scenario error, the run ended with \(r.outcome.summary)")
        } catch let e as ScenarioError {
            #expect(e.location.line == 2 && e.message == message, "\(e)")
        }
    }

    @Test func aParseErrorIsThrownBeforeAnyRun() {
        #expect(throws: ScenarioError.self) { try ScenarioParser.parse("proc A\nA: load", file: "t.uvm") }
    }

    @Test func exitCodes() async throws {
        #expect(Outcome.pass.exitCode == 0)
        #expect(Outcome.fail(line: 1, expected: "ok", got: "EINVAL").exitCode == 1)
        #expect(Outcome.bug(KernelFailure(.deadlock, "no thread can run")).exitCode == 2)
        #expect(Outcome.bug(KernelFailure(.leak, "1 page")).summary == "BUG leak: 1 page")
        let pass = try await run("proc A\nA: p = mmap anon 1p\nA: load p => 0x00")
        #expect(pass.outcome.exitCode == 0)
        let fail = try await run("proc A\nA: p = mmap anon 1p\nA: load p => 0x01")
        #expect(fail.outcome.exitCode == 1)
    }

    @Test func theEndOfEveryRunLeavesTheMachineEmpty() async throws {
        // Anonymous memory of a process that never exits, a cached file page and a device
        // mapping: all given back by the final shutdown, or the run would end with BUG leak.
        let text = """
            file f size=1p fill=0x01
            device d
            proc A
            A: p = mmap anon 3p
            A: fill p 3p 0x05 => ok
            A: m = mmap file=f 1p shared
            A: store m 0x02 => ok
            A: x = mmap device=d 1p
            A: load x => 0xa5
            """
        expectPass(try await run(text))
    }

    /// A run's machine is gone once the run is: nothing it built (processes and their threads,
    /// maps, segments, the scheduler and its hooks) keeps it alive. A campaign runs millions.
    @Test(arguments: [false, true])
    func aRunLeavesNoMachineBehind(trace: Bool) async throws {
        final class Weak { weak var object: AnyObject? }
        final class Seen { var objects: [Weak] = [] }
        let seen = Seen()
        var o = RunOptions()
        o.auditEveryStep = true
        o.hashState = true
        o.trace = trace
        o.beforeOperation = { kernel, _ in
            let parts: [AnyObject] = [kernel, kernel.sched, kernel.uvm] + kernel.procs + kernel.procs.map(\.map) + Array(kernel.lwps.values)
            for part in parts where !seen.objects.contains(where: { $0.object === part }) {
                let w = Weak()
                w.object = part
                seen.objects.append(w)
            }
        }
        let report = try await run(Self.racy + """

            A: s = shmget size=2p
            A: m = shmat s
            A: K = fork
            K: store m 0x33
            """, options: o)
        expectPass(report)
        #expect(seen.objects.count > 10)
        #expect(seen.objects.allSatisfy { $0.object == nil }, "left alive: \(seen.objects.compactMap(\.object))")
    }
}
