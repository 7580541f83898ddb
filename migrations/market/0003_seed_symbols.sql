-- A starting catalogue of well-known US listings, ETFs and crypto pairs, each with one
-- reference close on 2026-11-20: the simulated feed starts its random walk from there, and
-- every symbol has a non-empty history from the first start. Prices are of the right order of
-- magnitude, not market data; a real history can be imported over them.

with seed (symbol, name, exchange, asset_type, close) as (
    values
    -- US large caps
    ('AAPL',  'Apple Inc.',                                  'NASDAQ',   'stock',  228.50),
    ('MSFT',  'Microsoft Corporation',                       'NASDAQ',   'stock',  415.20),
    ('NVDA',  'NVIDIA Corporation',                          'NASDAQ',   'stock',  145.80),
    ('AMZN',  'Amazon.com, Inc.',                            'NASDAQ',   'stock',  205.40),
    ('GOOGL', 'Alphabet Inc. Class A',                       'NASDAQ',   'stock',  175.30),
    ('GOOG',  'Alphabet Inc. Class C',                       'NASDAQ',   'stock',  176.90),
    ('META',  'Meta Platforms, Inc.',                        'NASDAQ',   'stock',  560.10),
    ('BRK-B', 'Berkshire Hathaway Inc. Class B',             'NYSE',     'stock',  470.60),
    ('TSLA',  'Tesla, Inc.',                                 'NASDAQ',   'stock',  340.20),
    ('AVGO',  'Broadcom Inc.',                               'NASDAQ',   'stock',  165.70),
    ('JPM',   'JPMorgan Chase & Co.',                        'NYSE',     'stock',  240.30),
    ('V',     'Visa Inc. Class A',                           'NYSE',     'stock',  310.50),
    ('MA',    'Mastercard Incorporated Class A',             'NYSE',     'stock',  520.80),
    ('UNH',   'UnitedHealth Group Incorporated',             'NYSE',     'stock',  330.40),
    ('JNJ',   'Johnson & Johnson',                           'NYSE',     'stock',  155.60),
    ('XOM',   'Exxon Mobil Corporation',                     'NYSE',     'stock',  118.20),
    ('WMT',   'Walmart Inc.',                                'NASDAQ',   'stock',  100.90),
    ('PG',    'The Procter & Gamble Company',                'NYSE',     'stock',  165.30),
    ('HD',    'The Home Depot, Inc.',                        'NYSE',     'stock',  400.70),
    ('CVX',   'Chevron Corporation',                         'NYSE',     'stock',  155.10),
    ('LLY',   'Eli Lilly and Company',                       'NYSE',     'stock',  800.40),
    ('ABBV',  'AbbVie Inc.',                                 'NYSE',     'stock',  180.60),
    ('MRK',   'Merck & Co., Inc.',                           'NYSE',     'stock',  100.20),
    ('PEP',   'PepsiCo, Inc.',                               'NASDAQ',   'stock',  160.80),
    ('KO',    'The Coca-Cola Company',                       'NYSE',     'stock',   65.40),
    ('COST',  'Costco Wholesale Corporation',                'NASDAQ',   'stock',  900.50),
    ('ADBE',  'Adobe Inc.',                                  'NASDAQ',   'stock',  350.30),
    ('CRM',   'Salesforce, Inc.',                            'NYSE',     'stock',  240.90),
    ('NFLX',  'Netflix, Inc.',                               'NASDAQ',   'stock',  110.40),
    ('AMD',   'Advanced Micro Devices, Inc.',                'NASDAQ',   'stock',  230.10),
    ('INTC',  'Intel Corporation',                           'NASDAQ',   'stock',   35.20),
    ('CSCO',  'Cisco Systems, Inc.',                         'NASDAQ',   'stock',   75.60),
    ('ORCL',  'Oracle Corporation',                          'NYSE',     'stock',  220.70),
    ('BAC',   'Bank of America Corporation',                 'NYSE',     'stock',   45.30),
    ('WFC',   'Wells Fargo & Company',                       'NYSE',     'stock',   75.80),
    ('DIS',   'The Walt Disney Company',                     'NYSE',     'stock',  110.20),
    ('MCD',   'McDonald''s Corporation',                     'NYSE',     'stock',  295.50),
    ('NKE',   'NIKE, Inc. Class B',                          'NYSE',     'stock',   75.10),
    ('T',     'AT&T Inc.',                                   'NYSE',     'stock',   25.40),
    ('VZ',    'Verizon Communications Inc.',                 'NYSE',     'stock',   42.30),
    ('PFE',   'Pfizer Inc.',                                 'NYSE',     'stock',   25.20),
    ('TMO',   'Thermo Fisher Scientific Inc.',               'NYSE',     'stock',  520.60),
    ('ABT',   'Abbott Laboratories',                         'NYSE',     'stock',  125.70),
    ('QCOM',  'QUALCOMM Incorporated',                       'NASDAQ',   'stock',  160.40),
    ('TXN',   'Texas Instruments Incorporated',              'NASDAQ',   'stock',  170.30),
    ('IBM',   'International Business Machines Corporation', 'NYSE',     'stock',  290.10),
    ('GS',    'The Goldman Sachs Group, Inc.',               'NYSE',     'stock',  750.80),
    ('MS',    'Morgan Stanley',                              'NYSE',     'stock',  150.20),
    ('CAT',   'Caterpillar Inc.',                            'NYSE',     'stock',  500.90),
    ('BA',    'The Boeing Company',                          'NYSE',     'stock',  200.50),
    ('GE',    'GE Aerospace',                                'NYSE',     'stock',  290.30),
    ('HON',   'Honeywell International Inc.',                'NASDAQ',   'stock',  200.60),
    ('UNP',   'Union Pacific Corporation',                   'NYSE',     'stock',  225.40),
    ('AMGN',  'Amgen Inc.',                                  'NASDAQ',   'stock',  300.70),
    ('SBUX',  'Starbucks Corporation',                       'NASDAQ',   'stock',   85.30),
    ('INTU',  'Intuit Inc.',                                 'NASDAQ',   'stock',  650.20),
    ('PYPL',  'PayPal Holdings, Inc.',                       'NASDAQ',   'stock',   65.90),
    ('UBER',  'Uber Technologies, Inc.',                     'NYSE',     'stock',   90.10),
    ('ADP',   'Automatic Data Processing, Inc.',             'NASDAQ',   'stock',  260.50),
    ('LIN',   'Linde plc',                                   'NASDAQ',   'stock',  420.80),
    ('PM',    'Philip Morris International Inc.',            'NYSE',     'stock',  155.40),
    ('NEE',   'NextEra Energy, Inc.',                        'NYSE',     'stock',   80.60),
    ('LOW',   'Lowe''s Companies, Inc.',                     'NYSE',     'stock',  240.20),
    ('SPGI',  'S&P Global Inc.',                             'NYSE',     'stock',  500.10),
    ('BLK',   'BlackRock, Inc.',                             'NYSE',     'stock', 1050.30),
    ('AXP',   'American Express Company',                    'NYSE',     'stock',  350.70),
    ('PLTR',  'Palantir Technologies Inc. Class A',          'NASDAQ',   'stock',  170.50),
    ('MU',    'Micron Technology, Inc.',                     'NASDAQ',   'stock',  200.40),
    -- Exchange-traded funds
    ('SPY',   'SPDR S&P 500 ETF Trust',                      'NYSEARCA', 'etf',    660.20),
    ('VOO',   'Vanguard S&P 500 ETF',                        'NYSEARCA', 'etf',    606.80),
    ('QQQ',   'Invesco QQQ Trust, Series 1',                 'NASDAQ',   'etf',    600.40),
    ('VTI',   'Vanguard Total Stock Market ETF',             'NYSEARCA', 'etf',    325.10),
    ('IWM',   'iShares Russell 2000 ETF',                    'NYSEARCA', 'etf',    240.60),
    ('DIA',   'SPDR Dow Jones Industrial Average ETF Trust', 'NYSEARCA', 'etf',    460.30),
    ('GLD',   'SPDR Gold Shares',                            'NYSEARCA', 'etf',    370.90),
    ('TLT',   'iShares 20+ Year Treasury Bond ETF',          'NASDAQ',   'etf',     90.20),
    ('EFA',   'iShares MSCI EAFE ETF',                       'NYSEARCA', 'etf',     90.70),
    ('AGG',   'iShares Core U.S. Aggregate Bond ETF',        'NYSEARCA', 'etf',    100.10),
    -- Crypto pairs, quoted in US dollars
    ('BTC-USD',  'Bitcoin USD',                              'CRYPTO',   'crypto', 90000.00),
    ('ETH-USD',  'Ethereum USD',                             'CRYPTO',   'crypto',  3000.00),
    ('SOL-USD',  'Solana USD',                               'CRYPTO',   'crypto',   140.00),
    ('XRP-USD',  'XRP USD',                                  'CRYPTO',   'crypto',     2.10),
    ('ADA-USD',  'Cardano USD',                              'CRYPTO',   'crypto',     0.450000),
    ('DOGE-USD', 'Dogecoin USD',                             'CRYPTO',   'crypto',     0.160000),
    ('LTC-USD',  'Litecoin USD',                             'CRYPTO',   'crypto',    90.00),
    ('DOT-USD',  'Polkadot USD',                             'CRYPTO',   'crypto',     2.50)
),
inserted as (
    insert into market.symbol (symbol, name, exchange, currency, asset_type)
    select symbol, name, exchange, 'USD', asset_type
    from seed
    -- A symbol someone created by hand keeps its own row and history.
    on conflict (symbol) do nothing
    returning symbol
)
insert into market.daily_close (symbol, date, close)
select seed.symbol, date '2026-11-20', seed.close
from seed
join inserted using (symbol);
