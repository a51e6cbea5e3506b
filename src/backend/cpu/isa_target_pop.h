// Ends the ISA target region a kernels_<isa>.cpp opened after its includes (a clang attribute
// push, or GCC push_options + target + diagnostic push). Included once, at the end of that region;
// no include guard on purpose.
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC diagnostic pop
#pragma GCC pop_options
#endif
