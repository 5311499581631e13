// The char instantiations that <fstream> declares `extern template` and that
// zig's WASI libc++ (built without filesystem support) does not contain.
// See include/fstream.
#include <fstream>

#if defined(__wasi__)
template class std::basic_filebuf<char>;
template class std::basic_ifstream<char>;
template class std::basic_ofstream<char>;
#endif
