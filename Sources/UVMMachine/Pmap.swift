// The pmap: the machine-dependent translation cache of one address space.
//
// It is only a cache (docs/wiring.md, *Wirings hold pages*, chs's goal in the VM_FAULT_WIREMAX
// commit): any entry may be dropped at any time and a fault rebuilds it. Each entry records the
// page and the protection the hardware allows; `wired` exists only for the historic
// unwire-through-the-pmap policy.

import UVMSched

public struct PTE {
    public let page: VMPage
    public var prot: VMProt
    public var wired: Bool
}

public final class Pmap {
    public private(set) var entries: [UInt64: PTE] = [:]
    public let pageShift: Int

    public init(pageShift: Int) { self.pageShift = pageShift }

    /// pmap_enter: maps virtual page `vpn` to `page` with `prot`, replacing any old mapping.
    public func enter(vpn: UInt64, page: VMPage, prot: VMProt, wired: Bool = false) {
        if let old = entries[vpn] {
            if old.page === page {
                entries[vpn]!.prot = prot
                entries[vpn]!.wired = wired || old.wired
                return
            }
            removeMapping(vpn)
        }
        entries[vpn] = PTE(page: page, prot: prot, wired: wired)
        page.pvList.append(PVEntry(pmap: self, vpn: vpn))
    }

    /// pmap_extract.
    public func extract(vpn: UInt64) -> PTE? { entries[vpn] }

    /// pmap_remove over [lo, hi) virtual pages. O(entries) when the range is larger than the map.
    public func remove(vpns range: Range<UInt64>) {
        if UInt64(entries.count) < UInt64(range.count) {
            for vpn in entries.keys.filter({ range.contains($0) }).sorted() { removeMapping(vpn) }
        } else {
            for vpn in range where entries[vpn] != nil { removeMapping(vpn) }
        }
    }

    /// pmap_protect: lowers the protection of the mappings in range (never raises it).
    public func protect(vpns range: Range<UInt64>, _ prot: VMProt) {
        if prot.isEmpty { remove(vpns: range); return }
        let keys = UInt64(entries.count) < UInt64(range.count)
            ? entries.keys.filter { range.contains($0) }
            : range.filter { entries[$0] != nil }
        for vpn in keys { entries[vpn]!.prot.formIntersection(prot) }
    }

    /// pmap_unwire: clears the wired bit (it does not unwire the page).
    public func unwire(vpn: UInt64) { entries[vpn]?.wired = false }

    /// pmap_remove_all: the address space is going away.
    public func removeAll() {
        for vpn in entries.keys.sorted() { removeMapping(vpn) }
    }

    /// pmap_page_protect: lowers every mapping of `page` in every pmap; `.none` removes them all,
    /// wired or not (which is why nothing may depend on a pmap entry staying, the VM_FAULT_WIREMAX
    /// commit).
    public static func pageProtect(_ page: VMPage, _ prot: VMProt) {
        if prot.isEmpty {
            for pv in page.pvList { pv.pmap.entries[pv.vpn] = nil }
            page.pvList.removeAll()
        } else {
            for pv in page.pvList { pv.pmap.entries[pv.vpn]!.prot.formIntersection(prot) }
        }
    }

    private func removeMapping(_ vpn: UInt64) {
        guard let pte = entries.removeValue(forKey: vpn) else { return }
        if let i = pte.page.pvList.firstIndex(where: { $0.pmap === self && $0.vpn == vpn }) {
            pte.page.pvList.remove(at: i)
        }
    }
}
