/// FlowPlane: an Open vSwitch–style virtual switch whose fast path is an XDP program and whose
/// control plane is this library. See README.md and ../DESIGN for the architecture.
public enum FlowPlaneVersion {
    /// The datapath ABI this control plane speaks (`FP_ABI_VERSION`).
    public static let abi = 1
}
