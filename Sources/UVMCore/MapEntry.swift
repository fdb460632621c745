// vm_map_entry: one contiguous range of a map, with its backing (amap over object), protection,
// inheritance and wiring state.
//
// Locking: an entry changes only with its map write-locked, except the fault path's read-locked
// bookkeeping that NetBSD also does under the read lock (needs-copy is cleared under the write
// lock).

import AddressTree
import UVMMachine

public enum Inheritance: String, Sendable {
    /// MAP_INHERIT_ZERO: the child gets fresh zero-filled anonymous memory in the entry's range
    /// (uvm_map.c: uvm_mapent_forkzero).
    case share, copy, none, zero

    /// The MAP_INHERIT_* value minherit(2) takes; nil for one uvm_map_inherit refuses (EINVAL),
    /// MAP_INHERIT_DONATE_COPY among them.
    public init?(mapInherit value: UInt64) {
        switch value {
        case 0: self = .share
        case 1: self = .copy
        case 2: self = .none
        case 4: self = .zero
        default: return nil
        }
    }
}

/// madvise(2) advice that acts on pages (uvm_map_clean, uvm_map_willneed). MADV_NORMAL,
/// MADV_RANDOM and MADV_SEQUENTIAL only set the entry's read-ahead hint (uvm_map_advice), which
/// nothing here reads: `hint`.
public enum Advice: String, Sendable {
    case willneed, dontneed, free, hint

    /// The MADV_* value madvise(2) takes; nil for one sys_madvise refuses (EINVAL),
    /// MADV_SPACEAVAIL among them.
    public init?(madvise value: UInt64) {
        switch value {
        case 0, 1, 2: self = .hint
        case 3: self = .willneed
        case 4: self = .dontneed
        case 6: self = .free
        default: return nil
        }
    }
}

public final class MapEntry: AddressRange {
    public package(set) var start: UInt64
    public package(set) var end: UInt64
    /// The backing object (uvm_object) and the byte offset of `start` in it.
    public package(set) var object: UVMObject?
    public package(set) var offset: UInt64
    /// The anonymous layer and the slot of `start` in it (the aref).
    public package(set) var amap: Amap?
    public package(set) var amapSlot: Int = 0
    public package(set) var protection: VMProt
    public package(set) var maxProtection: VMProt
    public package(set) var inheritance: Inheritance
    /// UVM_ET_COPYONWRITE: a private mapping; writes go to anons, never to the object.
    public package(set) var copyOnWrite: Bool
    /// UVM_ET_NEEDSCOPY: the amap (or its absence) is shared; copy it before writing.
    public package(set) var needsCopy: Bool
    /// The user wiring (mlock, mlockall): one flag, so one munlock undoes any number of mlocks.
    public package(set) var userWired = false
    /// System wirings (vslock for physio and sysctl): balanced, each undone by its own unwire.
    public package(set) var systemWireCount = 0
    /// VM_MAPENT_ISWIRED: the user flag or a system wiring (Thorpe's proposal, current-users, March 2019).
    public var isWired: Bool { userWired || systemWireCount > 0 }

    /// Mapped by `mmap device=`: the object's pages are fictitious (device memory).
    public var isDevice: Bool { object?.hasFictitiousPages ?? false }

    package init(start: UInt64, end: UInt64, object: UVMObject?, offset: UInt64, protection: VMProt,
         maxProtection: VMProt, inheritance: Inheritance, copyOnWrite: Bool, needsCopy: Bool) {
        self.start = start
        self.end = end
        self.object = object
        self.offset = offset
        self.protection = protection
        self.maxProtection = maxProtection
        self.inheritance = inheritance
        self.copyOnWrite = copyOnWrite
        self.needsCopy = needsCopy
    }

    public func pageCount(_ pageShift: Int) -> UInt64 { (end - start) >> UInt64(pageShift) }

    /// Amap slots this entry covers.
    public func amapSlots(_ pageShift: Int) -> Range<Int> {
        amapSlot..<(amapSlot + Int(pageCount(pageShift)))
    }

    /// The object page index backing virtual address `va`.
    public func objectPage(_ va: UInt64, _ pageShift: Int) -> UInt64 {
        (offset + (va - start)) >> UInt64(pageShift)
    }

    /// The amap slot backing virtual address `va`.
    public func amapSlot(for va: UInt64, _ pageShift: Int) -> Int {
        amapSlot + Int((va - start) >> UInt64(pageShift))
    }
}
