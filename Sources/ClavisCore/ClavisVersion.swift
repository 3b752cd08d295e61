/// The version of the Clavis package.
public enum ClavisVersion {
    /// The semantic version string, e.g. `0.1.0`.
    public static let string = "0.1.0"
}
