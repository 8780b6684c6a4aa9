from flowfix.cli import main

main()
