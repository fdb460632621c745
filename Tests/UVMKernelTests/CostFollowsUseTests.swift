// Advice and queries over huge ranges cost what is resident or what the kernel bounds them to,
// not the range: MADV_WILLNEED reads one read-ahead window per entry (uvm_readahead), and a
// mincore answer longer than the limit is refused by name.

import Testing
import UVMRunner
import UVMScenario
import UVMSched

@Suite @Sim struct CostFollowsUseTests {
    @Test func willneedOverABillionPagesReadsOneWindow() async throws {
        // 4K pages: RA_WINSIZE_MAX, 8 MAXPHYS of 64K, is 128 pages.
        let r = try await run("""
            machine ram=256p
            file f size=1000000000p fill=0x33
            proc A
            A: a = mmap file=f 1000000000p shared
            A: madvise a 1000000000p willneed => ok
            A: mincore a 130p
            A: load a+999999999p => 0x33
            """)
        expectPass(r)
        #expect(r.result(6) == String(repeating: "1", count: 128) + "00")
    }

    @Test func aMincoreAnswerPastAMillionPagesIsALimitNamed() async throws {
        let text = """
            file f size=1000000000p
            proc A
            A: a = mmap file=f 1000000000p shared
            A: mincore a 2000000p
            """
        await #expect(throws: ScenarioError.self) { try await run(text) }
        do {
            _ = try await run(text)
        } catch let e as ScenarioError {
            #expect(e.location.line == 4)
            #expect(e.message.contains("at most 1M pages"))
        }
        let r = try await run("""
            file f size=1000000000p
            proc A
            A: a = mmap file=f 1000000000p shared
            A: load a+5p => 0x00
            A: mincore a+4p 1000p
            """)
        expectPass(r)
        #expect(r.result(5) == "01" + String(repeating: "0", count: 998))
    }
}
