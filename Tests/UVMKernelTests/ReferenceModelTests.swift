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
        let f = try dataLoss(try await run(text, options: o))
        #expect(f.message.contains("reads 0x00") && f.message.contains("0x42 was written"))
    }

    /// The data-loss BUG a run ended in.
    private func dataLoss(_ r: RunReport) throws -> KernelFailure {
        guard case .bug(let f) = r.outcome, f.kind == .dataLoss else {
            Issue.record("expected data-loss, got \(r.outcome.summary)")
            throw CancellationError()
        }
        return f
    }

    /// A byte only one store of a `together` block wrote is known again after the block: a
    /// store lost meanwhile (here taken back behind the kernel's back, as a page freed under a
    /// racing write-back would lose it) is data loss at the next load.
    @Test func aStoreInABlockIsKnownAfterIt() async throws {
        let text = """
            machine ram=16p
            file f size=1p fill=0x41
            proc A
            thread T in A
            A: p = mmap file=f 1p shared
            together
              A: store p+1 0x22
              T: load p
            end
            A: load p+1
            """
        var o = RunOptions()
        o.beforeOperation = { k, line in
            guard line == 10, let vnode = k.files["f"], let pg = k.uvm.existingVnodeObject(vnode)?.pages[0] else { return }
            pg.write(1, 0x41, pageSize: k.pageSize)
        }
        let f = try dataLoss(try await run(text, options: o))
        #expect(f.message.contains("reads 0x41") && f.message.contains("0x22 was written"), "\(f.message)")
    }

    /// What a block leaves open stays unknown: two stores of different bytes, a store beside a
    /// write(2) of the same file, a store into a page the block's fork or munmap may have moved.
    /// Every schedule passes, whatever order the kernel took.
    @Test func aBlockKnowsOnlyWhatItsOrderCannotChange() async throws {
        let text = """
            machine ram=32p
            file f size=2p fill=0x41
            proc A
            thread T in A
            proc B
            A: p = mmap file=f 2p shared
            A: a = mmap anon 1p
            B: q = mmap file=f 2p shared
            B: fill q 4 0x77
            together
              A: store p+1 0x22
              T: store p+1 0x33
              B: write f off=1p from=q len=4
              A: store p+1p 0x44
            end
            A: load p+1
            A: load p+1p
            B: load q+1
            B: load q+1p
            """
        let remapping = """
            machine ram=32p
            proc A
            thread T in A
            A: a = mmap anon 2p
            A: fill a 2p 0x11
            together
              A: store a 0x55
              A: store a+1p 0x66
              T: c = fork
              T: munmap a 1p
              T: b = mmap anon 1p fixed=a
            end
            A: load a
            A: load a+1p
            c: load a
            c: load a+1p
            """
        for seed in 0...60 {
            expectPass(try await run(text, seed: UInt64(seed)))
            expectPass(try await run(remapping, seed: UInt64(seed)))
        }
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
