// The reference model: it agrees with a correct kernel through copy-on-write, sharing, files
// and swap, and it reports data loss when a page's contents change behind the kernel's back.

import Testing
import UVMCheck
import UVMKernel
import UVMRunner
import UVMSched

@Suite @Sim struct ReferenceModelTests {
    @Test func dataChangedBehindTheKernelIsDataLoss() async throws {
        let text = """
            machine ram=16p swap=8p
            proc A
            A: a = mmap anon 2p
            A: fill a 2p 0x42 => ok
            kernel: pagedaemon
            A: load a+1p+5
            """
        var o = RunOptions()
        // Just before the load, the swapped-out copy is lost: the page comes back as zeros.
        o.beforeOperation = { k, line in
            guard line == 6 else { return }
            for slot in 0..<k.uvm.swap.slotCount where k.uvm.swap.usedSlots > 0 { k.uvm.swap.corrupt(slot) }
        }
        let r = try await run(text, options: o)
        guard case .bug(let f) = r.outcome else {
            Issue.record("expected data-loss, got \(r.outcome.summary)")
            return
        }
        #expect(f.kind == .dataLoss)
        #expect(f.message.contains("reads 0x00") && f.message.contains("0x42 was written"))
    }

    @Test func theModelFollowsCopyOnWriteSharingAndFiles() async throws {
        // Every load here is compared with the model (no expectations needed): a PASS means
        // the model and the kernel agree byte for byte.
        let r = try await run("""
            machine ram=32p swap=16p
            file f size=2p fill=0x41
            proc A
            A: p = mmap file=f 2p private
            A: s = mmap file=f 2p shared
            A: m = mmap anon 2p shared
            A: a = mmap anon 2p
            A: store p 0x10
            A: store s+1p 0x20
            A: store m 0x30
            A: fill a 2p 0x40
            A: b = fork
            b: store a 0x50
            b: store m+1 0x31
            A: load a
            A: load m+1
            A: load p+1p
            b: load p
            A: truncate f 1p
            A: truncate f 2p
            A: load s+1p
            A: load p
            kernel: pagedaemon
            A: check a+1 100 0x40
            b: load a
            A: buf = mmap anon 1p
            A: read f off=0 to=buf len=1p
            A: load buf
            A: write f off=1p from=a len=1p
            A: load s+1p
            b: exit
            """)
        #expect(r.outcome == .pass, "\(r.transcript)")
    }

    @Test func modelStoresTrackFilesAcrossTruncation() {
        let m = ReferenceModel(pageSize: 4096)
        m.file("f", size: 8192, fill: 0x41)
        m.mapFile("A", "f", 0x1000_0000, 0x1000_2000, offset: 0, shared: true)
        m.write("A", 0x1000_1000, 0x7)
        #expect(m.read("A", 0x1000_1000) == 0x7)
        m.truncate("f", 4096)
        #expect(m.read("A", 0x1000_1000) == nil)   // past the end: the kernel raises SIGBUS
        m.truncate("f", 8192)
        #expect(m.read("A", 0x1000_1000) == 0)
        #expect(m.read("A", 0x1000_0000) == 0x41)
        m.racing = true
        m.write("A", 0x1000_0000, 0x9)
        m.racing = false
        #expect(m.read("A", 0x1000_0000) == nil)   // a racing write leaves the byte unknown
    }
}
