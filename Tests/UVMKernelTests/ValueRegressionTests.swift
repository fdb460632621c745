// Each value that once crashed `uvm`, made it reserve gigabytes or run for minutes, with the
// answer it gets now: an errno or a signal from the kernel, or a scenario error naming the limit.
// Sizes cost nothing until touched: a run that cost what its values say (gigabytes, hours) would
// exceed the suite's time limit, which only catches runaway costs (speed is measured by
// `uvm bench`, not here).

import Foundation
import Testing
import UVMRunner
import UVMScenario
import UVMSched

@Suite(.serialized, .timeLimit(.minutes(2))) @Sim struct ValueRegressionTests {
    /// The audit at every step.
    private static var audited: RunOptions {
        var o = RunOptions()
        o.auditEveryStep = true
        return o
    }

    /// Runs `text`, which must pass.
    @discardableResult
    private func expectQuickPass(_ text: String, options: RunOptions = audited,
                                 sourceLocation: Testing.SourceLocation = #_sourceLocation) async throws -> RunReport {
        let r = try await run(text, options: options)
        expectPass(r, sourceLocation: sourceLocation)
        return r
    }

    /// The scenario error `text` gets, or nil if it ran.
    private func scenarioError(_ text: String) async -> ScenarioError? {
        do {
            _ = try await run(text)
            return nil
        } catch let e as ScenarioError {
            return e
        } catch {
            return nil
        }
    }

    @Test func aWritePastTheLargestFileIsEFBIGAndANegativeOffsetOrAbsurdLengthEINVAL() async throws {
        try await expectQuickPass("""
            file db size=3000
            proc A
            A: b = mmap anon 1p
            A: write db off=0xffffffffffff0000 from=b len=1p => EINVAL
            A: write db off=0x7fffffffffffff00 from=b len=1p => EFBIG
            A: write db off=0 from=b len=0x8000000000000000 => EINVAL
            A: write db off=0 from=0xffffffffffffff00 len=1p => EFAULT
            A: read db off=0 to=b len=0xffffffffffffffff => EINVAL
            A: check b 1p 0x00 => ok
            """)
    }

    @Test func copiesReachingPast2To64FaultAndTheModelKeepsUp() async throws {
        try await expectQuickPass("""
            file db size=4p fill=0x41
            proc A
            A: b = mmap anon 1p
            A: fill 0xfffffffffffff000 2p 0x11 => SIGSEGV
            A: check 0xffffffffffffff00 1p 0x00 => SIGSEGV
            A: read db off=0 to=0xfffffffffffff000 len=2p => EFAULT
            A: fill b 9223372036854775808 0x71 => SIGSEGV
            A: load b+100 => 0x71
            expect resident A 0xfffffffffffff000 1p = 0
            expect locked A 0xfffffffffffff000 0xffffffffffffffff = no
            """)
    }

    @Test func anOperationThatFaultsStopsAtTheFault() async throws {
        try await expectQuickPass("""
            file f size=1G fill=0x66
            proc A
            A: a = mmap anon 1p
            A: fill a 1G 0x11 => SIGSEGV
            A: read f off=0 to=a len=1G => EFAULT
            A: load a => 0x66
            A: write f off=0 from=a len=1G => EFAULT
            """)
    }

    @Test func aFilledFileCostsWhatIsTouched() async throws {
        try await expectQuickPass("""
            file f size=1024G fill=0x77
            file h size=0xffffffffffffffff fill=0x12
            proc A
            A: a = mmap file=f 1p off=1023G
            A: load a+4095 => 0x77
            A: store a 0x01 => ok
            A: truncate f 2p => ok
            A: truncate f 1000000000p => ok
            A: z = mmap file=f 1p shared off=999999999p
            A: load z => 0x00
            A: write f off=999999999p from=a len=1p => ok
            A: load z => 0x01
            A: y = mmap file=f 1p shared
            A: load y => 0x77
            """)
    }

    @Test func aLazilyFilledFileReadsWhatWasWrittenAndTruncated() async throws {
        // Zeros written back over the fill stay zeros; truncation ends the fill where it cuts.
        try await expectQuickPass("""
            machine ram=16p
            file f size=3p fill=0x41
            proc A
            A: s = mmap file=f 3p shared
            A: fill s 1p 0x00 => ok
            A: msync s 3p invalidate => ok
            kernel: pagedaemon
            A: check s 1p 0x00 => ok
            A: check s+1p 2p 0x41 => ok
            A: truncate f 4196 => ok
            A: truncate f 3p => ok
            kernel: pagedaemon
            A: check s+1p 100 0x41 => ok
            A: check s+1p+100 8092 0x00 => ok
            """)
    }

    @Test func showAndWiredCountsCostWhatIsResident() async throws {
        let text = """
            file f size=1p fill=0x77
            proc A
            A: z = mmap file=f 1000000000p shared
            A: truncate f 1000000000p => ok
            A: load z+999999999p => 0x00
            A: mlock z 1p => ok
            expect wired A = 1p
            expect resident A z+999999998p 2p = 01
            """
        var options = RunOptions()
        options.auditEveryStep = true
        options.showState = true
        let r = try await run(text, options: options)
        expectPass(r)
        // `uvm show`: the locked first page, then the rest of the billion with its last page.
        #expect(r.state?.contains("0x10001000      rw- rwx share 1    L") == true, "\(r.state ?? "no state")")
        #expect(r.state?.contains("0x3b9bca00000   rw- rwx share 1    -") == true, "\(r.state ?? "no state")")
    }

    @Test func expectationsOverAbsurdRangesAreFileErrors() async throws {
        let resident = await scenarioError("""
            proc A
            A: a = mmap anon 1p
            expect resident A a 4294967296p = 1
            """)
        #expect(resident?.message.contains("4294967296 pages") == true, "\(String(describing: resident))")
        let ram = await scenarioError("machine ram=0x100000001p")
        #expect(ram?.message.contains("at most 4G pages") == true, "\(String(describing: ram))")
    }

    /// Thousands of mappings, each placed right after the one before; that their cost is linear
    /// in their number is `BudgetTests.scenarioLengthCostsLinearly`'s to check, in CPU time of a
    /// process of its own (here every test shares the simulator's thread, and its wall time).
    @Test func thousandsOfMappingsEachFollowTheOneBefore() async throws {
        let lines = (0..<3_000).map { "A: m\($0) = mmap anon 1p prot=none" }
        // Without the audit at every step, which visits every map entry each time.
        let r = try await expectQuickPass((["machine ram=64p", "proc A"] + lines).joined(separator: "\n"),
                                          options: RunOptions())
        #expect(r.result(3_002) == "0x" + String(0x1000_0000 + 2_999 * 4096, radix: 16))
    }

    @Test func benchmarksAtAnAbsurdScaleStillMeasureSomething() async {
        let figures = await Bench.run(scale: 70_000, only: "faults")
        let timed = figures.filter { !$0.name.contains("callgrind") }
        #expect(!timed.isEmpty && timed.allSatisfy { $0.value.isFinite })
        // Without this program's path, the instruction count is reported as not measured, never
        // as met.
        let counted = figures.first { $0.name.contains("callgrind") }
        #expect(counted != nil && counted!.value.isNaN && counted!.met == nil)
    }

    /// callgrind counts the instructions of `uvm bench --zero-fill-faults N`; more faults, more
    /// instructions. Where valgrind is not installed (`.ci/run` installs it), there is no count.
    @Test func callgrindCountsMoreInstructionsForMoreFaults() async throws {
        let uvm = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("uvm").path
        let few = Bench.callgrindInstructions(uvm, ["bench", "--zero-fill-faults", "10"])
        let valgrind = ProcessInfo.processInfo.environment["PATH", default: ""].split(separator: ":")
            .contains { FileManager.default.isExecutableFile(atPath: "\($0)/valgrind") }
        guard valgrind else {
            #expect(few == nil)
            return
        }
        let many = Bench.callgrindInstructions(uvm, ["bench", "--zero-fill-faults", "110"])
        #expect(few != nil && many != nil && many! > few! + 100 * 1000, "\(String(describing: few)) / \(String(describing: many))")
    }
}
