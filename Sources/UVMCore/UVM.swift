// The VM system of one simulated machine: its scheduler, physical memory, and the page cache
// objects of its vnodes (uvm.h's global state).
//
// Locking: the table of vnode objects and the list of vslock holds change only in steps with no
// switch point (NetBSD protects them with the vnode interlock and the map lock); each object,
// amap and map has its own lock (Object.swift, Amap.swift, Map.swift).

import UVMMachine
import UVMSched

public final class UVM {
    public let sched: Scheduler
    public let mem: PhysMem
    public let pageSize: Int
    public let pageShift: Int
    /// A fault that restarts more often than this without completing is a livelock (OpenBSD's 2021
    /// uvm_vnode.c diff: OpenBSD reverted a restart-only fix because restarts made a large program
    /// start slowly).
    public var faultRestartBound = 100
    /// One UVM object per vnode: the page cache that read(2), write(2) and mappings share (UBC).
    private var vnodeObjects: [Int: VnodeObject] = [:]
    /// vslock holds outstanding (page holds, for the audit and the wait-for graph).
    public package(set) var holds: [PageHold] = []
    package var anonSerial = 0
    package var amapSerial = 0
    package var fakePageSerial = 0

    /// The kernel's behaviour: modern, or historic knobs (docs/wiring.md, *Policy knobs*).
    public var policy = Policy.modern
    /// The swap device (no slots when the machine has no swap).
    public let swap: SwapDevice

    public init(sched: Scheduler, pageCount: Int, pageSize: Int, wiredMax: Int, swapPages: Int = 0) {
        precondition(pageSize > 0 && pageSize & (pageSize - 1) == 0, "page size must be a power of two")
        self.sched = sched
        self.pageSize = pageSize
        self.pageShift = pageSize.trailingZeroBitCount
        self.mem = PhysMem(pageCount: pageCount, pageSize: pageSize, wiredMax: wiredMax)
        self.swap = SwapDevice(slots: swapPages)
    }

    /// The vnode's object (its page cache), created on first use. The vnode itself keeps it:
    /// mappings take references, but pages stay cached when the last mapping goes.
    public func vnodeObject(_ vnode: Vnode) -> VnodeObject {
        if let o = vnodeObjects[vnode.id] { return o }
        let o = VnodeObject(self, vnode: vnode)
        vnodeObjects[vnode.id] = o
        return o
    }

    /// The vnode's object if it has one.
    public func existingVnodeObject(_ vnode: Vnode) -> VnodeObject? { vnodeObjects[vnode.id] }

    /// Every file's page cache, in vnode order (for `uvm show` and the audit).
    public var allVnodeObjects: [VnodeObject] { vnodeObjects.keys.sorted().map { vnodeObjects[$0]! } }


    @inline(__always) public func pageIndex(_ byteOffset: UInt64) -> UInt64 { byteOffset >> UInt64(pageShift) }
    @inline(__always) public func bytes(pages n: UInt64) -> UInt64 { n << UInt64(pageShift) }
}
