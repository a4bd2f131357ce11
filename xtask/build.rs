// The same commit stamp as the swast binary: one build script for both.
include!("../swast-cli/build.rs");
