"""What runs a case and judges it: the engine the suite, the fuzzer and the reproducers share."""
