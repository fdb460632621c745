// The reference model's fork follows each region's inheritance by itself, MAP_INHERIT_ZERO
// included (uvm_map.c: uvm_mapent_forkzero): the child's range is fresh zero-filled private
// memory, whatever the parent had there, and the parent keeps its bytes.

import Testing
import UVMCheck

@Suite struct ReferenceModelInheritTests {
    private let page: UInt64 = 4096

    @Test func anonymousMemoryInheritedZeroIsZerosInTheChildOnly() {
        let m = ReferenceModel(pageSize: Int(page))
        m.mapAnon("A", 0x10000, 0x10000 + 2 * page, shared: false)
        m.fill("A", 0x10000, 2 * page, 0x44)
        m.minherit("A", 0x10000, 0x10000 + page, "zero")
        m.fork("A", "B")
        #expect(m.read("B", 0x10000) == 0)
        #expect(m.read("B", 0x10000 + page - 1) == 0)
        #expect(m.read("B", 0x10000 + page) == 0x44)
        #expect(m.read("A", 0x10000) == 0x44)
        // The child's zeros are its own: its store reaches neither the parent nor the next child.
        m.write("B", 0x10000, 0x55)
        #expect(m.read("A", 0x10000) == 0x44)
        m.fork("A", "C")
        #expect(m.read("C", 0x10000) == 0)
    }

    @Test func aSharedFileMappingInheritedZeroLeavesTheFileAlone() {
        let m = ReferenceModel(pageSize: Int(page))
        m.file("db", size: 2 * page, fill: 0x33)
        m.mapFile("A", "db", 0x20000, 0x20000 + 2 * page, offset: 0, shared: true)
        m.minherit("A", 0x20000, 0x20000 + 2 * page, "zero")
        m.fork("A", "B")
        #expect(m.read("B", 0x20000 + page) == 0)
        m.write("B", 0x20000, 0x55)
        #expect(m.fileRead("db", 0) == 0x33)
        #expect(m.read("A", 0x20000) == 0x33)
    }
}
