// Mappings and files: clipping by mprotect and munmap, end of file, truncation, and the
// coherence of mappings with read(2) and write(2).

import Testing
import UVMRunner
import UVMScenario
import UVMSched

@Suite @Sim struct MappingTests {
    @Test func mprotectClipsTheMiddlePage() async throws {
        let text = """
            proc A
            A: p = mmap anon 3p
            A: fill p 3p 0x42
            A: mprotect p+1p 1p r
            A: store p 0x01            # first
            A: store p+2p 0x02         # last
            A: store p+1p 0x03         # middle store
            A: load p+1p               # middle read
            A: mprotect p 3p rw
            A: store p+1p 0x03         # middle again
            """
        let r = try await run(text)
        expectPass(r)
        #expect(r.result(line("# first", in: text)) == "ok")
        #expect(r.result(line("# last", in: text)) == "ok")
        #expect(r.result(line("# middle store", in: text)) == "SIGSEGV", "\(r.transcript)")
        #expect(r.result(line("# middle read", in: text)) == "0x42")
        #expect(r.result(line("# middle again", in: text)) == "ok")
    }

    @Test func munmapOfTheMiddlePageLeavesTheEnds() async throws {
        let text = """
            proc A
            A: p = mmap anon 3p
            A: store p 0x01 => ok
            A: store p+1p 0x02 => ok
            A: store p+2p 0x03 => ok
            A: munmap p+1p 1p => ok
            A: load p                  # low byte
            A: load p+1p               # hole
            A: load p+2p               # high
            A: mincore p 1p            # low resident
            A: mincore p 3p            # over the hole
            """
        let r = try await run(text)
        expectPass(r)
        #expect(r.result(line("# low byte", in: text)) == "0x01", "\(r.transcript)")
        #expect(r.result(line("# hole", in: text)) == "SIGSEGV")
        #expect(r.result(line("# high", in: text)) == "0x03")
        #expect(r.result(line("# low resident", in: text)) == "1")
        #expect(r.result(line("# over the hole", in: text)) == "ENOMEM")
    }

    @Test func pastEndOfFileIsSIGBUS() async throws {
        // 1.5 pages mapped over 3: the partial page is whole (its tail is zeros), the third is not.
        let text = """
            file f size=6K fill=0x41
            proc A
            A: p = mmap file=f 3p shared
            A: load p                  # page 0
            A: load p+1p               # page 1 head
            A: load p+1p+2048          # page 1 tail
            A: load p+2p               # load page 2
            A: store p+2p 0x01         # store page 2
            A: q = mmap file=f 3p private
            A: load q+2p               # private page 2
            """
        let r = try await run(text)
        expectPass(r)
        let want = ["page 0": "0x41", "page 1 head": "0x41", "page 1 tail": "0x00", "load page 2": "SIGBUS",
                    "store page 2": "SIGBUS", "private page 2": "SIGBUS"]
        for (marker, value) in want {
            #expect(r.result(line("# \(marker)", in: text)) == value, "\(marker)\n\(r.transcript)")
        }
    }

    @Test func truncateThenGrowReadsZeros() async throws {
        let text = """
            file f size=3p fill=0xdb
            proc A
            A: p = mmap file=f 3p shared
            A: check p 3p 0xdb => ok
            A: truncate f 1p => ok
            A: load p+1p => SIGBUS
            A: load p+2p => SIGBUS
            A: load p => 0xdb
            A: truncate f 3p => ok
            A: check p+1p 2p 0x00      # through the mapping
            A: b = mmap anon 2p
            A: fill b 2p 0xee => ok
            A: read f off=1p to=b len=2p => ok
            A: check b 2p 0x00         # through read
            A: truncate f 100 => ok
            A: truncate f 1p => ok
            A: load p+99 => 0xdb
            A: check p+100 3996 0x00   # tail of a partial page
            """
        let r = try await run(text)
        expectPass(r)
        #expect(r.result(line("# through the mapping", in: text)) == "ok")
        #expect(r.result(line("# through read", in: text)) == "ok")
        #expect(r.result(line("# tail of a partial page", in: text)) == "ok")
    }

    @Test func storeThroughASharedMappingIsSeenByRead() async throws {
        let text = """
            file f size=1p fill=0x2e
            proc A
            A: m = mmap file=f 1p shared
            A: b = mmap anon 1p
            A: store m+10 0x41 => ok
            A: read f off=0 to=b len=1p => ok
            A: load b+10               # read sees the store
            A: load b+11               # and the rest of the file
            """
        let r = try await run(text)
        expectPass(r)
        #expect(r.result(line("# read sees the store", in: text)) == "0x41")
        #expect(r.result(line("# and the rest", in: text)) == "0x2e")
    }

    @Test func writeIsSeenThroughMappings() async throws {
        let text = """
            file f size=2p fill=0x2e
            proc W
            proc R
            R: m = mmap file=f 2p shared
            R: v = mmap file=f 2p private
            R: load m+1p => 0x2e
            W: b = mmap anon 1p
            W: fill b 1p 0x42 => ok
            W: write f off=1p from=b len=1p => ok
            R: check m+1p 1p 0x42      # shared mapping
            R: check v+1p 1p 0x42      # private mapping, not yet written
            """
        let r = try await run(text)
        expectPass(r)
        #expect(r.result(line("# shared mapping", in: text)) == "ok")
        #expect(r.result(line("# private mapping", in: text)) == "ok")
    }

    @Test func aPrivateMappingNeverChangesTheFile() async throws {
        let text = """
            file f size=1p fill=0x2e
            proc A
            proc B
            A: v = mmap file=f 1p private
            A: fill v 1p 0x50 => ok
            A: msync v 1p sync => ok
            A: fsync f => ok
            B: m = mmap file=f 1p shared
            B: load m                  # shared view
            B: b = mmap anon 1p
            B: read f off=0 to=b len=1p => ok
            B: check b 1p 0x2e         # the file
            A: load v                  # private view
            """
        let r = try await run(text)
        expectPass(r)
        #expect(r.result(line("# shared view", in: text)) == "0x2e")
        #expect(r.result(line("# the file", in: text)) == "ok")
        #expect(r.result(line("# private view", in: text)) == "0x50")
    }

    @Test func msyncInvalidateDropsCleanPagesAndDataSurvives() async throws {
        let text = """
            file f size=2p
            proc A
            A: m = mmap file=f 2p shared
            A: fill m 2p 0x77 => ok
            A: msync m 2p invalidate => ok
            A: mincore m 2p            # dropped
            A: check m 2p 0x77         # back from disk
            """
        let r = try await run(text)
        expectPass(r)
        #expect(r.result(line("# dropped", in: text)) == "00")
        #expect(r.result(line("# back from disk", in: text)) == "ok")
    }

    @Test func madviseFreeOfAWholeMappingReadsZeros() async throws {
        let text = """
            proc A
            A: a = mmap anon 2p
            A: fill a 2p 0x17 => ok
            A: madvise a 2p dontneed => ok
            A: check a 2p 0x17 => ok
            A: madvise a 2p free => ok
            expect resident A a 2p = 00
            A: check a 2p 0x00 => ok
            """
        expectPass(try await run(text))
    }
}
