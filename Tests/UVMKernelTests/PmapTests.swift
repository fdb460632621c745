import Testing
import UVMMachine

/// The pmap's page-table pages and the pages' inline pv entries keep what a dictionary pmap kept.
@Suite struct PmapTests {
    private func pages(_ n: Int) -> [VMPage] {
        let mem = PhysMem(pageCount: n, pageSize: 4096, wiredMax: n)
        return (0..<n).compactMap { _ in mem.alloc(owner: nil) }
    }

    @Test func entriesAcrossPageTablesComeInAddressOrder() {
        let pmap = Pmap(pageShift: 12)
        let pg = pages(4)
        let vpns: [UInt64] = [5 << 30, 3, 511, 512, 1 << 40]
        for (i, vpn) in vpns.enumerated() { pmap.enter(vpn: vpn, page: pg[i % 4], prot: [.read, .write]) }
        #expect(pmap.count == 5 && entries(pmap).count == 5)
        #expect(entries(pmap).map { $0.key } == vpns.sorted())
        #expect(pmap.extract(vpn: 512)?.page === pg[3])
        #expect(pmap.extract(vpn: 513) == nil)
        // Re-entering the same page changes only the protection.
        pmap.enter(vpn: 3, page: pg[1], prot: .read)
        #expect(pmap.count == 5 && pmap.extract(vpn: 3)?.prot == .read && pg[1].pvList.count == 1)
    }

    @Test func aPageMappedTwiceLosesBothMappingsToPageProtect() {
        let a = Pmap(pageShift: 12), b = Pmap(pageShift: 12)
        let pg = pages(1)[0]
        a.enter(vpn: 7, page: pg, prot: [.read, .write])
        b.enter(vpn: 9000, page: pg, prot: [.read, .write])
        #expect(pg.pvList.map(\.vpn) == [7, 9000])
        Pmap.pageProtect(pg, .read)
        #expect(a.extract(vpn: 7)?.prot == .read && b.extract(vpn: 9000)?.prot == .read)
        Pmap.pageProtect(pg, .none)
        #expect(!pg.isMapped && a.count == 0 && b.count == 0)
        #expect(a.extract(vpn: 7) == nil && b.extract(vpn: 9000) == nil)
    }

    @Test func removingAMappingKeepsThePagesOtherMappings() {
        let a = Pmap(pageShift: 12), b = Pmap(pageShift: 12)
        let pg = pages(1)[0]
        a.enter(vpn: 1, page: pg, prot: .read)
        b.enter(vpn: 2, page: pg, prot: .read)
        a.remove(vpns: 0..<10)
        #expect(pg.pvList.count == 1 && pg.pvList[0].vpn == 2 && pg.pvList[0].pmap === b)
        b.removeAll()
        #expect(!pg.isMapped && b.count == 0)
    }

    @Test func protectAndRemoveTouchOnlyTheirRange() {
        let pmap = Pmap(pageShift: 12)
        let pg = pages(6)
        for (i, vpn) in ([0, 1, 2, 1000, 1001, 1 << 35] as [UInt64]).enumerated() {
            pmap.enter(vpn: vpn, page: pg[i], prot: [.read, .write])
        }
        pmap.protect(vpns: 1..<1001, .read)
        #expect(entries(pmap).map { $0.value.prot } == [[.read, .write], .read, .read, .read, [.read, .write], [.read, .write]])
        pmap.remove(vpns: 2..<UInt64.max)
        #expect(entries(pmap).map { $0.key } == [0, 1])
        #expect(pg[2...].allSatisfy { !$0.isMapped } && pg[0].isMapped)
    }
}

/// The pmap's entries in address order, as `forEachEntry` gives them.
private func entries(_ pmap: Pmap) -> [(key: UInt64, value: PTE)] {
    var out: [(key: UInt64, value: PTE)] = []
    pmap.forEachEntry { out.append(($0, $1)) }
    return out
}
