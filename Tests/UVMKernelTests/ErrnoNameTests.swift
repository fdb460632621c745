// The scenario language knows NetBSD's errno names; every one the kernel returns is among them,
// so an expectation can name any answer the kernel gives.

import Testing
import UVMKernel
import UVMScenario

@Test(arguments: Errno.allCases) func everyKernelErrnoIsAnExpectationName(_ errno: Errno) throws {
    let scenario = try ScenarioParser.parse("proc A\nA: load 0x1000 => ok|\(errno.name)\n", file: "errno.uvm")
    #expect(scenario.statements.count == 2)
}
