//! lab-loadgen (skeleton: being built under issue 3).
