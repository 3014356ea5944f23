//! lab-server (skeleton: being built under issue 2).
