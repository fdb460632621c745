// The reference model follows every rule the kernel follows. A wiring that faults a private file
// mapping for writing (VM_FAULT_WIREMAX in uvm_fault_wire, a vslock for a device read) makes its
// pages the process's own copy at once; after the file is truncated to nothing and grown again
// they still hold the old bytes, and the model must expect exactly that. A wiring that does not
// copy leaves the mapping following the file, and the model must expect the regrown zeros.

import Testing
import UVMKernel
import UVMRunner
import UVMSched

@Suite @Sim struct ModelFollowsKernelTests {
    struct WiringPath: Sendable, CustomTestStringConvertible {
        let name: String
        /// Lines before the mapping is made (mlockall(MCL_FUTURE) wires what is mapped later).
        var before = ""
        /// Options of the private mapping.
        var mapping = ""
        /// The wiring, on the mapping `p` of three pages.
        let wiring: String
        /// What every byte of the mapping reads after truncate and regrow.
        let reads: UInt8
        /// The line that ends the wiring, if it does not end by itself.
        var end = ""
        var testDescription: String { name }
    }

    nonisolated static let paths: [WiringPath] = [
        WiringPath(name: "mlock", wiring: "A: mlock p 3p => ok", reads: 0x41),
        WiringPath(name: "mlockall current", wiring: "A: mlockall current => ok", reads: 0x41),
        WiringPath(name: "mlockall future", before: "A: mlockall future => ok", wiring: "", reads: 0x41),
        WiringPath(name: "vslock for a device read", wiring: "A: h = vslock p 3p w", reads: 0x41, end: "A: vsunlock h => ok"),
        WiringPath(name: "vslock read and write", wiring: "A: h = vslock p 3p rw", reads: 0x41, end: "A: vsunlock h => ok"),
        WiringPath(name: "physio from the device", wiring: "A: physio tape read p 3p => ok", reads: 0x77),
        WiringPath(name: "sysctl copy-out", wiring: "A: sysctl p 3p => ok", reads: Kernel.sysctlByte),
        // No copy: a device write only reads memory, and a mapping that can never be written
        // is wired at read access.
        WiringPath(name: "vslock for a device write", wiring: "A: h = vslock p 3p r", reads: 0x00, end: "A: vsunlock h => ok"),
        WiringPath(name: "physio to the device", wiring: "A: physio tape write p 3p => ok", reads: 0x00),
        WiringPath(name: "mlock of a never-writable mapping", mapping: "prot=r maxprot=r", wiring: "A: mlock p 3p => ok", reads: 0x00),
    ]

    @Test(arguments: paths)
    func truncateAndRegrowAfterWiring(_ path: WiringPath) async throws {
        let text = """
            machine ram=64p
            file f size=3p fill=0x41
            device tape pattern=0x77
            proc A
            \(path.before)
            A: p = mmap file=f 3p private \(path.mapping)
            \(path.wiring)
            A: truncate f 0 => ok
            A: truncate f 3p => ok
            A: load p
            A: load p+1p+100
            A: load p+2p+4095
            \(path.end)
            """
        let r = try await run(text)
        // Every load is compared with the model: a PASS means they agree byte for byte.
        expectPass(r)
        let want = "0x" + String(path.reads, radix: 16).leftPadded(to: 2)
        for marker in ["A: load p", "load p+1p+100", "load p+2p+4095"] {
            #expect(r.result(line(marker, in: text)) == want, "\(r.transcript)")
        }
    }
}

private extension String {
    func leftPadded(to n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
