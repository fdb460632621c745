// Threads running together under random schedules: each scenario must pass under every seed
// tried, with alternatives where the result legitimately depends on the schedule.

import Testing
import UVMRunner
import UVMScenario
import UVMSched

@Suite @Sim struct TogetherTests {
    /// Regression (fixed in eaf219a): a thread that found the page busy dropped its locks and
    /// then slept on the page even if it had been unbusied meanwhile, and nothing woke it.
    @Test(arguments: 1...40 as ClosedRange<UInt64>)
    func twoThreadsFaultTheSameFilePage(seed: UInt64) async throws {
        let text = """
            file f size=1p fill=0x41
            proc A
            thread T in A
            A: p = mmap file=f 1p shared
            together
              A: load p => 0x41
              T: load p => 0x41
            end
            """
        expectPass(try await run(text, seed: seed))
    }

    @Test(arguments: 1...40 as ClosedRange<UInt64>)
    func faultRacingTruncate(seed: UInt64) async throws {
        let text = """
            file f size=2p fill=0x41
            proc A
            proc B
            A: p = mmap file=f 2p shared
            together
              A: load p+1p => 0x41|SIGBUS
              B: truncate f 1p => ok
            end
            A: load p+1p => SIGBUS
            A: load p => 0x41
            B: truncate f 2p => ok
            A: load p+1p => 0x00
            """
        expectPass(try await run(text, seed: seed))
    }

    @Test(arguments: 1...40 as ClosedRange<UInt64>)
    func writeFromAMappingOfTheSameFile(seed: UInt64) async throws {
        // W13: write(2) copies in from a mapping of the file it writes, holding its vnode lock.
        let text = """
            file f size=3p fill=0x41
            proc A
            proc B
            A: p = mmap file=f 3p shared
            B: q = mmap file=f 3p shared
            B: fill q+2p 1p 0x42 => ok
            together
              A: write f off=0 from=p+2p len=1p => ok
              B: load q => 0x41|0x42
              B: fill q+1p 1p 0x43 => ok
            end
            A: check p 1p 0x42 => ok
            A: check p+1p 1p 0x43 => ok
            """
        expectPass(try await run(text, seed: seed))
    }

    @Test(arguments: 1...40 as ClosedRange<UInt64>)
    func readIntoAMappingOfTheSameFile(seed: UInt64) async throws {
        let text = """
            file f size=3p fill=0x41
            proc A
            thread T in A
            A: p = mmap file=f 3p shared
            A: fill p+2p 1p 0x43 => ok
            together
              A: read f off=2p to=p len=1p => ok
              T: load p => 0x41|0x43
              T: store p+1p 0x44 => ok
            end
            A: check p 1p 0x43 => ok
            A: load p+1p => 0x44
            """
        expectPass(try await run(text, seed: seed))
    }
}
