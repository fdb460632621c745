// The swap device: page-sized slots that hold anonymous pages the page daemon paged out.
//
// Transfers are switch points (the thread sleeps on I/O). A full device makes pageout fail for
// that page, never the kernel.

import UVMSched

public final class SwapDevice {
    public let slotCount: Int
    /// Slots freed since they were first used, reused last freed first; slots from `neverUsed`
    /// up have not been handed out yet, so a large device costs nothing until pages go to it.
    private var freeSlots: [Int] = []
    private var neverUsed = 0
    /// Slot contents, as sparse as the page's that went out.
    private var contents: [Int: PageContents] = [:]

    public init(slots: Int) {
        slotCount = slots
    }

    public var usedSlots: Int { neverUsed - freeSlots.count }

    /// A free slot, or nil when the device is full: the lowest slot first, then freed ones.
    public func alloc() -> Int? {
        if let slot = freeSlots.popLast() { return slot }
        guard neverUsed < slotCount else { return nil }
        neverUsed += 1
        return neverUsed - 1
    }

    public func free(_ slot: Int) {
        precondition(slot < neverUsed && (contents[slot] != nil || !freeSlots.contains(slot)), "swap slot \(slot) freed twice")
        contents[slot] = nil
        freeSlots.append(slot)
    }

    public func write(_ slot: Int, _ data: PageContents, _ sched: Scheduler) async throws {
        try await sched.switchPoint(.io, "swap out slot \(slot)")
        contents[slot] = data
    }

    /// Loses a slot's contents (it reads back as zeros): for tests of the checker.
    public func corrupt(_ slot: Int) {
        if contents[slot] != nil { contents[slot] = PageContents() }
    }

    public func read(_ slot: Int, _ sched: Scheduler) async throws -> PageContents {
        try await sched.switchPoint(.io, "swap in slot \(slot)")
        return contents[slot] ?? PageContents()
    }
}
