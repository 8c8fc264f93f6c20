from clevrlang.cli import run_main

run_main()
