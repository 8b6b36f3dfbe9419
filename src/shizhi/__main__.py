from shizhi.cli import main

main()
